"""onnxslim replaces a Reshape's shape, fed as a graph input, by the constant that the graph's
declared output shape implies, and drops that graph input: the slimmed model takes one input
fewer, and a caller that feeds every input of the model is refused.

Standalone: needs numpy, onnx, onnxslim and onnxruntime. It builds x -> Reshape(x, shape) with
`shape` a graph input (no initializer) and the output declared (1, 6), slims it, and feeds the
slimmed model what the model takes. The last line says REPRODUCED (exit 1: an input is gone),
FIXED (exit 0: the same inputs, the same outputs) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnxruntime as ort
import onnxslim
from onnx import TensorProto, helper
from skeleton.verdict import say

graph = helper.make_graph(
    [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "shape"], ["y"])],
    "fed_shape", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                  helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
try:
    slimmed = onnxslim.slim(model)
except Exception as exc:  # noqa: BLE001
    say("DIFFERENT", f"onnxslim.slim raised {type(exc).__name__}: "
                     f"{exc}")
before = [i.name for i in model.graph.input]
after = [i.name for i in slimmed.graph.input]
print("inputs:", before, "after onnxslim.slim:", after)
feed = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "shape": np.array([1, 6], np.int64)}
try:
    session = ort.InferenceSession(slimmed.SerializeToString(), providers=["CPUExecutionProvider"])
    session.run(None, feed)
except Exception as exc:  # noqa: BLE001
    print(f"feeding the model's inputs: {type(exc).__name__}: {str(exc).splitlines()[0]}")
if after != before:
    say("REPRODUCED", "the slimmed model dropped a graph input")
say("FIXED", "the slimmed model keeps the model's inputs")
