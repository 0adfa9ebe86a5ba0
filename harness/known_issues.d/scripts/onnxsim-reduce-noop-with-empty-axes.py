"""onnx-simplifier reduces over every axis a Reduce whose noop_with_empty_axes is 1 and whose
axes are empty or omitted, where the spec makes it the identity: ReduceSum-13 (keepdims=0,
noop_with_empty_axes=1, no axes) on a (1,) input gives a scalar () after onnxsim.simplify,
where the model gives the input itself, shape (1,).

Standalone: needs numpy, onnx, onnxsim and onnxruntime (optimisations off). The last line says
REPRODUCED (exit 1: the simplified model's output shape differs), FIXED (exit 0), DIFFERENT
(exit 2: onnxsim raised) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnxruntime as ort
import onnxsim
from onnx import TensorProto, helper
from skeleton.verdict import say

graph = helper.make_graph(
    [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0, noop_with_empty_axes=1)], "reduce",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 13)])


def run(m, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), options,
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


x = np.array([2.5], np.float32)
try:
    simplified, _ = onnxsim.simplify(model)
except Exception as exc:  # noqa: BLE001
    say("DIFFERENT", f"onnxsim.simplify raised {type(exc).__name__}: {exc}")
expected, got = run(model, x), run(simplified, x)
print("model:", expected.shape, expected, "simplified:", got.shape, got)
if expected.shape != got.shape:
    say("REPRODUCED", "onnxsim reduced the no-op Reduce over every axis")
say("FIXED", "the simplified model keeps the input")
