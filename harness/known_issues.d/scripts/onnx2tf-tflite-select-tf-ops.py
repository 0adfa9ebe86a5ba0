"""onnx2tf writes its float32 TFLite file with TensorFlow's Select TF ops enabled
(TFLITE_BUILTINS + SELECT_TF_OPS), so an ONNX op with no TFLite builtin becomes a Flex op (Erf
> FlexErf, BitwiseAnd > FlexBitwiseAnd), and the LiteRT interpreter (ai-edge-litert), whose
Python package links no Flex delegate, refuses the file: "Select TensorFlow op(s), included in
the given model, is(are) not supported by this interpreter". TensorFlow's own
tf.lite.Interpreter linked the Flex delegate up to TF 2.18; from TF 2.20 it refuses too (a
reading printed beside the verdict, not part of it).

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with tensorflow, tf_keras and the onnxsim
command on PATH, which onnx2tf runs) and ai_edge_litert. It builds x (1,) float32 > Erf and
a, b (1,) int64 > BitwiseAnd (opset 18), runs each with onnxruntime, converts each with
onnx2tf.convert in a temporary folder, and runs its *_float32.tflite with
ai_edge_litert.interpreter.Interpreter (and tf.lite.Interpreter, for the reading). The last
line says REPRODUCED (exit 1: LiteRT refuses both files for their Flex ops), FIXED (exit 0:
LiteRT runs both and matches onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import glob
import os
import re
import tempfile

import numpy as np
import onnx
import onnx2tf
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def model(op, names, elem, opset):
    graph = helper.make_graph(
        [helper.make_node(op, names, ["y"])], op.lower(),
        [helper.make_tensor_value_info(name, elem, [1]) for name in names],
        [helper.make_tensor_value_info("y", elem, [1])])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


def run_tflite(interpreter, feeds):
    runner = interpreter.get_signature_runner("serving_default")
    return next(iter(runner(**feeds).values()))


CASES = [("Erf", model("Erf", ["x"], TensorProto.FLOAT, 17),
          {"x": np.array([0.5], dtype=np.float32)}),
         ("BitwiseAnd", model("BitwiseAnd", ["a", "b"], TensorProto.INT64, 18),
          {"a": np.array([12], dtype=np.int64), "b": np.array([10], dtype=np.int64)})]
refused = ran = 0
for op, onnx_model, feeds in CASES:
    onnx.checker.check_model(onnx_model, full_check=True)
    expected = onnxruntime(onnx_model, feeds)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        onnx.save(onnx_model, path)  # onnx2tf overwrites its input with the simplified model
        out = os.path.join(folder, "out")
        try:
            onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                            output_signaturedefs=True, copy_onnx_input_output_names_to_tflite=True,
                            non_verbose=True)
        except Exception as exc:  # noqa: BLE001
            say("DIFFERENT", f"{op}: onnx2tf raised "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        with open(glob.glob(os.path.join(out, "*_float32.tflite"))[0], "rb") as file:
            flat = file.read()
    try:
        with_tf = run_tflite(tf.lite.Interpreter(model_content=flat), feeds)
        tf_says = f"tf.lite.Interpreter {tf.__version__} gives {with_tf.tolist()}"
    except Exception as exc:  # noqa: BLE001  (only a reading beside the verdict)
        tf_says = (f"tf.lite.Interpreter {tf.__version__} raised {type(exc).__name__}"
                   f"{' (Select TF ops)' if 'Select TensorFlow op' in str(exc) else ''}")
    try:
        found = run_tflite(Interpreter(model_content=flat), feeds)
    except RuntimeError as exc:
        flex = re.search(r"\((Flex\w+)\) failed to prepare", str(exc))
        if "Select TensorFlow op(s)" in str(exc) and flex:
            print(f"{op}: onnxruntime gives {expected.tolist()}; {tf_says}; LiteRT refuses "
                  f"{flex.group(1)}: Select TensorFlow op(s) ... not supported by this interpreter")
            refused += 1
            continue
        say("DIFFERENT", f"{op}: LiteRT raised RuntimeError: "
                         f"{str(exc).splitlines()[0][:200]}")
    print(f"{op}: onnxruntime gives {expected.tolist()}; {tf_says}; LiteRT gives {found.tolist()}")
    if np.allclose(found, expected, atol=1e-6):
        ran += 1
if refused == len(CASES):
    say("REPRODUCED", "LiteRT refuses onnx2tf's TFLite files for "
                      "their Select TF ops")
if ran == len(CASES):
    say("FIXED", "LiteRT runs onnx2tf's TFLite files")
say("DIFFERENT", f"{refused} refused, {ran} of {len(CASES)} "
                 f"right")
