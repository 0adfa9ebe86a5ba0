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


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say

rng = np.random.default_rng(0)
x = rng.uniform(-4, 4, (2, 3)).astype(np.float32)
y = rng.uniform(1, 3, (2, 3)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Mod", ["x", "y"], ["z"], fmod=1)], "fmod",
    [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 3]) for name in ("x", "y")],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 18)])
expected = onnxruntime(model, {"x": x, "y": y})

found = onnx2tf_outputs(model, {"x": x, "y": y})
print(f"x            {x.ravel()}")
print(f"y            {y.ravel()}")
print(f"onnxruntime  {expected.ravel()}")
for name, value in found.items():
    print(f"{name:12s} {value.ravel()}")
floor = np.mod(x, y)
if all(np.allclose(value, expected, atol=1e-5) for value in found.values()):
    say("FIXED", "both agree with onnxruntime's fmod")
if all(np.allclose(value, floor, atol=1e-5) for value in found.values()) \
        and not np.allclose(floor, expected, atol=1e-5):
    worst = float(np.max(np.abs(found["SavedModel"] - expected)))
    say("REPRODUCED", f"floor modulo where fmod=1 asks for C fmod, "
                      f"max abs {worst:.3g}")
say("DIFFERENT", "neither fmod nor floor modulo")
