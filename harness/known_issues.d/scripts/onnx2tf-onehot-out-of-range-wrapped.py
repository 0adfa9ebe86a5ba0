"""onnx2tf wraps every OneHot index with floormod(index + depth, depth), so an index outside
[-depth, depth-1], which ONNX says gives a row of off_value only, gets on_value at the wrapped
position (index 7 with depth 6 lights position 1).

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
indices (int64, (3, 2)) -> OneHot(depth=6, values=[-1, 3], axis=2) at opset 21, feeds the
indices [[0, 2], [-3, 5], [6, -7]] (the last two out of range), converts it with onnx2tf and runs
the SavedModel's signature and the float32 TFLite file. The last line says REPRODUCED (exit 1:
both light the wrapped positions of the out-of-range indices and agree elsewhere), FIXED (exit 0:
both agree with onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say

depth = 6
indices = np.array([[0, 2], [-3, 5], [6, -7]], np.int64)
graph = helper.make_graph(
    [helper.make_node("OneHot", ["indices", "depth", "values"], ["out"], axis=2)], "onehot",
    [helper.make_tensor_value_info("indices", TensorProto.INT64, [3, 2])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, [3, 2, depth])],
    [numpy_helper.from_array(np.array(depth, np.int32), "depth"),
     numpy_helper.from_array(np.array([-1, 3], np.float32), "values")])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
feeds = {"indices": indices}
expected = onnxruntime(model, feeds)
found = onnx2tf_outputs(model, feeds)
wrapped = np.where(np.arange(depth) == np.mod(indices, depth)[..., None], 3, -1).astype(np.float32)
print(f"indices      {indices.tolist()} (depth {depth})")
print(f"onnxruntime  {expected[2].tolist()}  (row of indices {indices[2].tolist()})")
for name, value in found.items():
    print(f"{name:12s} {value[2].tolist()}")
if all(np.array_equal(value, expected) for value in found.values()):
    say("FIXED", "both give off_value rows as onnxruntime does")
in_range = np.abs(indices) < depth  # here every in-range index is -depth < i < depth
if all(np.array_equal(value, wrapped) for value in found.values())         and all(np.array_equal(value[in_range], expected[in_range]) for value in found.values()):
    say("REPRODUCED", "out-of-range indices 6 and -7 wrapped to "
                      "positions 0 and 5 where ONNX gives off_value only")
say("DIFFERENT", "neither ONNX's rows nor the wrapped ones")
