"""onnx2tf's float32 TFLite file names a constant graph output 'lambda' instead of its ONNX name:
Dropout's mask output, which onnx2tf writes as a constant tf.ones (all True outside training),
becomes a Keras Lambda layer named 'lambda', and the file's signature names its outputs after
the Keras layers; every other output is named after its ONNX output. onnx2tf's rewriting of
TFLite tensor names (copy_onnx_input_output_names_to_tflite) needs the flatc command and does
nothing without it; the script prints whether flatc is on the PATH.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow and ai_edge_litert. It
builds x (float32, (1, 3)) -> Dropout -> y, mask at opset 19, and the control x -> Relu -> y,
x -> Neg -> z, converts them with onnx2tf and reads the float32 TFLite files' signatures with
LiteRT. REPRODUCED: the Dropout file's outputs are 'lambda' and 'y' while the control's are 'y'
and 'z'; FIXED: the Dropout file's outputs are 'y' and 'mask'. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import os
import shutil

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper
from skeleton.onnx2tf import convert
from skeleton.onnx_build import model_of
from skeleton.ort import reference
from skeleton.verdict import say

F = TensorProto.FLOAT
FEEDS = {"x": np.array([[1.5, -2.0, 3.0]], np.float32)}


def tflite_names(model):
    """The float32 TFLite file's signature: input and output names, and the outputs by name."""
    out, error = convert(model)
    if error is not None:
        say("DIFFERENT", f"onnx2tf refused the model: "
                         f"{error.splitlines()[0][:200]}")
    tflite = [name for name in os.listdir(out) if name.endswith("_float32.tflite")][0]
    interpreter = Interpreter(model_path=os.path.join(out, tflite))
    signature = interpreter.get_signature_list()["serving_default"]
    return signature, interpreter.get_signature_runner()(**FEEDS)


dropout = model_of(
    [helper.make_node("Dropout", ["x"], ["y", "mask"])],
    [helper.make_tensor_value_info("x", F, [1, 3])],
    [helper.make_tensor_value_info("y", F, [1, 3]),
     helper.make_tensor_value_info("mask", TensorProto.BOOL, [1, 3])], opset=19)
control = model_of(
    [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["z"])],
    [helper.make_tensor_value_info("x", F, [1, 3])],
    [helper.make_tensor_value_info("y", F, [1, 3]), helper.make_tensor_value_info("z", F, [1, 3])],
    opset=19)
print(f"flatc on PATH (onnx2tf's renaming of TFLite tensors needs it): {shutil.which('flatc')}")
print(f"onnxruntime: y {reference(dropout, FEEDS)[0].ravel().tolist()}, "
      f"mask {reference(dropout, FEEDS)[1].ravel().tolist()}")
control_signature, _ = tflite_names(control)
print(f"Relu and Neg (outputs y, z): TFLite signature {control_signature}")
signature, outputs = tflite_names(dropout)
print(f"Dropout (outputs y, mask): TFLite signature {signature}")
print(f"TFLite outputs: { {name: value.ravel().tolist() for name, value in outputs.items()} }")
if sorted(signature["outputs"]) == ["mask", "y"]:
    say("FIXED", "the mask output is named 'mask'")
if sorted(control_signature["outputs"]) == ["y", "z"] and "lambda" in signature["outputs"] \
        and "mask" not in signature["outputs"]:
    say("REPRODUCED", "the constant mask output is named 'lambda', "
                      "the other outputs by their ONNX names")
say("DIFFERENT", f"outputs {signature['outputs']}, control "
                 f"{control_signature['outputs']}")
