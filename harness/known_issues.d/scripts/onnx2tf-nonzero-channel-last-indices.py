"""onnx2tf runs an ONNX NonZero on the channel-last tensor it keeps for a rank-3+ input (NCW as
NWC, NCHW as NHWC) and never puts the indices back in ONNX's axis order: the rows of the
result are the coordinates along onnx2tf's axes (N, W, C), in the order of that layout.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds x (float32,
(1, 2, 3)) -> NonZero -> y at opset 13, converts it with onnx2tf, and runs the SavedModel's
signature on x in the channel-last layout onnx2tf declares ((1, 3, 2), x transposed (0, 2, 1)).
The TFLite file is not run: its NonZero needs the Select TF ops runtime. The last line says
REPRODUCED (exit 1: the indices are NonZero of the channel-last tensor), FIXED (exit 0: the
indices equal onnxruntime's), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say

x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3)
x[0, 0, 1] = 0
graph = helper.make_graph(
    [helper.make_node("NonZero", ["x"], ["y"])], "nonzero",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])],
    [helper.make_tensor_value_info("y", TensorProto.INT64, [3, None])])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13)])
expected = onnxruntime(model, {"x": x})
signature, _ = convert_signature(model)
channel_last = np.ascontiguousarray(x.transpose(0, 2, 1))
found = savedmodel(signature, {"x": channel_last}).astype(np.int64)
print(f"x            {x.tolist()} (fed as {channel_last.tolist()}, shape (1, 3, 2))")
print(f"onnxruntime  {expected.tolist()}")
print(f"SavedModel   {found.tolist()}")
if np.array_equal(found, expected):
    say("FIXED", "the indices equal onnxruntime's")
if np.array_equal(found, np.stack(np.nonzero(channel_last))):
    say("REPRODUCED", "the indices of the channel-last tensor, "
                      "not of the ONNX one")
say("DIFFERENT", "neither ONNX's indices nor the channel-last ones")
