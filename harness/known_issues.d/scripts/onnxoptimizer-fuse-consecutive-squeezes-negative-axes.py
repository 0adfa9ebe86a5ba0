"""onnxoptimizer's fuse_consecutive_squeezes composes a first Squeeze's negative axes
without adding the rank: Squeeze(Squeeze(x, [-1]), [1]) of a (1, 1, 2, 1) x, which the model
squeezes to (1, 2), becomes one Squeeze of axes [-1, 2], whose axis 2 is not a 1, and
onnxruntime refuses the optimised model.

Standalone: needs numpy, onnx, onnxoptimizer and onnxruntime (optimisations off). It builds the
two Squeezes (axes as initializers, opset 13), applies the single pass
fuse_consecutive_squeezes, and runs both models. The last line says REPRODUCED (exit 1: the
optimised model is refused or its outputs differ), FIXED (exit 0) or CANNOT RUN (exit 3: a
package does not import).
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


axes = [numpy_helper.from_array(np.array([-1], np.int64), "first"),
        numpy_helper.from_array(np.array([1], np.int64), "second")]
graph = helper.make_graph(
    [helper.make_node("Squeeze", ["x", "first"], ["s"]),
     helper.make_node("Squeeze", ["s", "second"], ["y"])],
    "squeezes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], axes)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
x = np.arange(2, dtype=np.float32).reshape(1, 1, 2, 1)
fused = onnxoptimizer.optimize(model, ["fuse_consecutive_squeezes"])
print("axes after the pass:", [numpy_helper.to_array(t).tolist() for t in fused.graph.initializer])
expected = run(model, x)
try:
    got = run(fused, x)
except Exception as exc:  # noqa: BLE001
    say("REPRODUCED", f"onnxruntime refuses the optimised model: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:200]}")
if got.shape == expected.shape and np.allclose(expected, got):
    say("FIXED", "the optimised model gives the model's outputs")
say("REPRODUCED", f"fuse_consecutive_squeezes changed the output: {got.shape} for {expected.shape}")
