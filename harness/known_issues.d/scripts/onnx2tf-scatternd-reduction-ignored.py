"""onnx2tf converts every ONNX ScatterND to tf.tensor_scatter_nd_update and never reads its
reduction attribute (opset 16+), so reduction="add" (or "mul", "max", "min") overwrites the
indexed rows with the updates instead of combining them with the data.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
data (int32, (4, 3)), updates (int32, (2, 3)) and the constant indices [[1], [3]] (no duplicates)
-> ScatterND(reduction="add") at opset 18, converts it with onnx2tf, and runs the SavedModel's
signature and the float32 TFLite file. The last line says REPRODUCED (exit 1: both give the
updates where onnxruntime gives data + updates), FIXED (exit 0: both agree with onnxruntime),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say

data = np.arange(12, dtype=np.int32).reshape(4, 3)
updates = np.full((2, 3), 10, np.int32)
indices = np.array([[1], [3]], np.int64)
graph = helper.make_graph(
    [helper.make_node("ScatterND", ["data", "indices", "updates"], ["out"], reduction="add")],
    "scatternd_add",
    [helper.make_tensor_value_info("data", TensorProto.INT32, [4, 3]),
     helper.make_tensor_value_info("updates", TensorProto.INT32, [2, 3])],
    [helper.make_tensor_value_info("out", TensorProto.INT32, [4, 3])],
    [numpy_helper.from_array(indices, "indices")])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 18)])
feeds = {"data": data, "updates": updates}
expected = onnxruntime(model, feeds)
found = onnx2tf_outputs(model, feeds)
print(f"onnxruntime  {expected.tolist()}")
for name, value in found.items():
    print(f"{name:12s} {value.tolist()}")
overwritten = data.copy()
overwritten[indices[:, 0]] = updates
if all(np.array_equal(value, expected) for value in found.values()):
    say("FIXED", "both add the updates as onnxruntime does")
if all(np.array_equal(value, overwritten) for value in found.values()):
    say("REPRODUCED", f"reduction=\"add\" ignored, the rows are "
                      f"overwritten (row 1: {found['SavedModel'][1].tolist()} where onnxruntime gives "
                      f"{expected[1].tolist()})")
say("DIFFERENT", "neither the sum nor the overwrite")
