"""onnxslim fuses a Pad that names its axes (Pad-18+ with the axes operand, pads given for
those axes only) into the Conv that reads it without expanding the pads to every spatial axis:
the Conv gets a pads attribute of the wrong size, and onnxruntime refuses the slimmed model
("Attribute pads has incorrect size").

Standalone: needs numpy, onnx, onnxslim and onnxruntime. It builds Pad(x, pads=[0, 0, 1, 1],
value 0, axes=[2, 3]) > Conv(1x1) at opset 21 on (1, 3, 2, 5), checks that onnxruntime loads
it, slims it and loads the result. The last line says REPRODUCED (exit 1: refused for the pads
size), FIXED (exit 0: it loads), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnxruntime as ort
import onnxslim
from onnx import TensorProto, helper, numpy_helper
from skeleton.verdict import say

rng = np.random.default_rng(0)
inits = [numpy_helper.from_array(np.array([0, 0, 1, 1], np.int64), "pads"),
         numpy_helper.from_array(np.array(0.0, np.float32), "value"),
         numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
         numpy_helper.from_array(rng.standard_normal((1, 3, 1, 1)).astype(np.float32), "w"),
         numpy_helper.from_array(rng.standard_normal(1).astype(np.float32), "b")]
graph = helper.make_graph(
    [helper.make_node("Pad", ["x", "pads", "value", "axes"], ["p"], mode="constant"),
     helper.make_node("Conv", ["p", "w", "b"], ["y"], kernel_shape=[1, 1])],
    "pad_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 5])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 3, 6])], inits)
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])


def load(m):
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])


load(model)
slimmed = onnxslim.slim(model)
print("ops after onnxslim.slim:", [n.op_type for n in slimmed.graph.node])
try:
    load(slimmed)
except Exception as exc:  # noqa: BLE001
    if "Attribute pads has incorrect size" in str(exc):
        say("REPRODUCED", "the fused Conv's pads have the wrong size")
    say("DIFFERENT", f"{type(exc).__name__}: {str(exc)[:200]}")
say("FIXED", "the slimmed model loads")
