"""onnxslim's shape inference (SqueezeHandler and SplitHandler, onnxslim/core/shape_inference/
standard_ops/tensor/squeeze.py and split.py) reads a Squeeze's axes and a Split's split operand
only where it is a constant; where the model feeds it at run time (a graph input), it takes it
as absent (squeeze every dimension of size 1; split in equal parts) and writes those shapes into
the slimmed model's value_info, which onnxruntime then trusts:

- x (1, 1, 1, 1) > Squeeze(axes fed as [2, 3]) > Softmax(axis=1): the Squeeze output is typed
  rank 0 and onnxruntime refuses to load the model ("[ShapeInferenceError] Input rank must be
  >= 1 for Softmax");
- x (1, 4, 1) > Split(axis=1, split fed as [1, 2, 1]) > Mul(2) on the last two > Concat: the
  parts are typed (1, 1, 1) and onnxruntime fails running the Mul ("Shape mismatch attempting
  to re-use buffer. {1,1,1} != {1,2,1}").

Both models are valid (onnx.checker, full check) and run.

Standalone: needs numpy, onnx, onnxslim and onnxruntime (optimisations off). The last line says
REPRODUCED (exit 1: both slimmed models fail so), FIXED (exit 0: both load and agree with the
models), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnx
import onnxruntime as ort
import onnxslim
from onnx import TensorProto, helper, numpy_helper
from skeleton.verdict import say

OPTIONS = ort.SessionOptions()
OPTIONS.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL


def squeeze_model():
    graph = helper.make_graph(
        [helper.make_node("Squeeze", ["x", "axes"], ["squeezed"]),
         helper.make_node("Softmax", ["squeezed"], ["y"], axis=1)], "squeeze",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 1]),
         helper.make_tensor_value_info("axes", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
    feed = {"x": np.full((1, 1, 1, 1), 0.5, np.float32), "axes": np.array([2, 3], np.int64)}
    return graph, feed, "Input rank must be >= 1"


def split_model():
    graph = helper.make_graph(
        [helper.make_node("Split", ["x", "split"], ["a", "b", "c"], axis=1),
         helper.make_node("Mul", ["b", "two"], ["mb"]), helper.make_node("Mul", ["c", "two"], ["mc"]),
         helper.make_node("Concat", ["a", "mb", "mc"], ["y"], axis=1)], "split",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 1]),
         helper.make_tensor_value_info("split", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1])],
        [numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    feed = {"x": np.arange(4, dtype=np.float32).reshape(1, 4, 1),
            "split": np.array([1, 2, 1], np.int64)}
    return graph, feed, "Shape mismatch attempting to re-use buffer"


def run(m, feed):
    return ort.InferenceSession(m.SerializeToString(), OPTIONS,
                                providers=["CPUExecutionProvider"]).run(None, feed)[0]


failed, fixed = [], []
for name, make in (("Squeeze", squeeze_model), ("Split", split_model)):
    graph, feed, why = make()
    model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    expected = run(model, feed)
    try:
        slimmed = onnxslim.slim(model)
    except Exception as exc:  # noqa: BLE001
        say("DIFFERENT", f"{name}: onnxslim.slim raised {type(exc).__name__}: {exc}")
    try:
        got = run(slimmed, feed)
    except Exception as exc:  # noqa: BLE001
        first = str(exc).strip().splitlines()[0][:240]
        print(f"{name}: onnxruntime: {first}")
        (failed if why in str(exc) else []).append(name)
        continue
    print(f"{name}: the slimmed model gives {got.ravel().tolist()}, the model {expected.ravel().tolist()}")
    if got.shape == expected.shape and np.allclose(got, expected):
        fixed.append(name)
if failed == ["Squeeze", "Split"]:
    say("REPRODUCED", "onnxslim typed the fed Squeeze axes and Split sizes as absent")
if fixed == ["Squeeze", "Split"]:
    say("FIXED", "both slimmed models load and agree")
say("DIFFERENT", f"failed as known: {failed}, fixed: {fixed}")
