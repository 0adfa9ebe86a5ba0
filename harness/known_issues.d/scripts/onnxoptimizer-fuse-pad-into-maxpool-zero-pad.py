"""onnxoptimizer's fuse_pad_into_pool folds a constant Pad of value 0 into the MaxPool that
reads it, as the MaxPool's own pads, which stand for -inf: a window whose real values are all
negative then gives its negative maximum where the model gives 0.

Standalone: needs numpy, onnx, onnxoptimizer and onnxruntime (optimisations off). It builds
Pad(constant 0, one row below) > MaxPool(2x2, stride 2) on an all-negative input, applies the
single pass fuse_pad_into_pool, and runs both models. The last line says REPRODUCED (exit 1:
the outputs differ), FIXED (exit 0) or CANNOT RUN (exit 3: a package does not import).
"""


import numpy as np
import onnxoptimizer
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skeleton.verdict import say


def run(model, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


pads = numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 0], np.int64), "pads")
graph = helper.make_graph(
    [helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
     helper.make_node("MaxPool", ["p"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
    "pad_maxpool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [pads])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
x = -np.arange(1, 7, dtype=np.float32).reshape(1, 1, 3, 2)
try:
    fused = onnxoptimizer.optimize(model, ["fuse_pad_into_pool"])
except Exception as exc:  # noqa: BLE001
    say("DIFFERENT", f"the pass raised {type(exc).__name__}: "
                     f"{exc}")
expected, got = run(model, x), run(fused, x)
print("ops after the pass:", [n.op_type for n in fused.graph.node])
print("model:", expected.ravel(), "after fuse_pad_into_pool:", got.ravel())
if np.allclose(expected, got):
    say("FIXED", "the fused model gives the model's outputs")
say("REPRODUCED", "fuse_pad_into_pool changed the outputs")
