"""onnx2tf converts ONNX Mod to tf.math.mod (floor modulo, the sign of the divisor) whatever its
fmod attribute says, so Mod with fmod=1 (C fmod, the sign of the dividend; ONNX requires fmod=1
for floats) gives x mod y + y where x is negative and not a multiple of y.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x, y (float32, (2, 3), x in [-4, 4], y in [1, 3]) -> Mod(fmod=1) -> z at opset 18, converts it
with onnx2tf, and runs the SavedModel's signature and the float32 TFLite file. The last line says
REPRODUCED (exit 1: both give floor modulo where onnxruntime gives fmod), FIXED (exit 0: both
agree with onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import os
import sys
import tempfile

import numpy as np
import onnx
import onnx2tf
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper
from skeleton.ort import onnxruntime
from skeleton.verdict import KNOWN_ISSUE

rng = np.random.default_rng(0)
x = rng.uniform(-4, 4, (2, 3)).astype(np.float32)
y = rng.uniform(1, 3, (2, 3)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Mod", ["x", "y"], ["z"], fmod=1)], "fmod",
    [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 3]) for name in ("x", "y")],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 18)])
expected = onnxruntime(model, {"x": x, "y": y})

folder = tempfile.mkdtemp()
path = os.path.join(folder, "fmod.onnx")
onnx.save(model, path)
out = os.path.join(folder, "out")
onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out, output_signaturedefs=True,
                copy_onnx_input_output_names_to_tflite=True, non_verbose=True)
signature = tf.saved_model.load(out).signatures["serving_default"]
savedmodel = list(signature(x=tf.constant(x), y=tf.constant(y)).values())[0].numpy()
tflite = [name for name in os.listdir(out) if name.endswith("_float32.tflite")][0]
runner = Interpreter(model_path=os.path.join(out, tflite)).get_signature_runner()
litert = list(runner(x=x, y=y).values())[0]
print(f"x            {x.ravel()}")
print(f"y            {y.ravel()}")
print(f"onnxruntime  {expected.ravel()}")
print(f"SavedModel   {savedmodel.ravel()}")
print(f"TFLite       {litert.ravel()}")
floor = np.mod(x, y)
if all(np.allclose(found, expected, atol=1e-5) for found in (savedmodel, litert)):
    print(f"FIXED: known issue {KNOWN_ISSUE}: both agree with onnxruntime's fmod (exit 0)")
    sys.exit(0)
if all(np.allclose(found, floor, atol=1e-5) for found in (savedmodel, litert)) \
        and not np.allclose(floor, expected, atol=1e-5):
    worst = float(np.max(np.abs(savedmodel - expected)))
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: floor modulo where fmod=1 asks for C fmod, "
          f"max abs {worst:.3g} (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither fmod nor floor modulo (exit 2)")
sys.exit(2)
