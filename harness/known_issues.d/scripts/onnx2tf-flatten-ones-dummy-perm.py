"""onnx2tf's Flatten (ops/Flatten.py) picks the transpose back to ONNX's order by a search:
it flattens every permutation of the channel-last tensor of its dummy inference and keeps the
first one equal to onnxruntime's dummy output. With no calibration image (any input that is not
a 3-channel image) both dummy inputs are all ones, so every permutation with the right output
shape matches, and the first in itertools order, the identity, wins where its flattening has
ONNX's output shape: the channel-last tensor is flattened as it is.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (1, 2, 4, 5)) -> Flatten(axis=1) -> y at opset 17, and for contrast the same with
axis=2 (where no earlier permutation has the output shape (2, 20)), converts each with onnx2tf,
and runs the SavedModel's signature and the float32 TFLite file on x = 0..39 in the channel-last
layout onnx2tf documents (x transposed (0, 2, 3, 1)). The last line says REPRODUCED (exit 1:
axis=1 gives the channel-last flattening on both, axis=2 is right), FIXED (exit 0: both agree
with onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say

SHAPE = [1, 2, 4, 5]


def case(axis):
    size = int(np.prod(SHAPE))
    x = np.arange(size, dtype=np.float32).reshape(SHAPE)
    out = [int(np.prod(SHAPE[:axis])), int(np.prod(SHAPE[axis:]))]
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["y"], axis=axis)], "flatten",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)])
    model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    expected = onnxruntime(model, {"x": x})
    feeds = {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))}
    found = onnx2tf_outputs(model, feeds)
    print(f"x {SHAPE} = 0..{size - 1} -> Flatten(axis={axis}), fed channel-last "
          f"{list(feeds['x'].shape)}; first 12 elements of y {out}")
    print(f"  onnxruntime  {expected.ravel()[:12].tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value.ravel()[:12].tolist()}  shape {list(value.shape)}")
    return expected, found, feeds["x"].reshape(out)


wrong, wrong_found, channel_last = case(1)
right, right_found, _ = case(2)
wrong_ok = all(np.array_equal(v, wrong) for v in wrong_found.values())
right_ok = all(np.array_equal(v, right) for v in right_found.values())
if wrong_ok and right_ok:
    say("FIXED", "Flatten(axis=1) and (axis=2) agree with "
                 "onnxruntime")
if right_ok and all(np.array_equal(v, channel_last) for v in wrong_found.values()):
    say("REPRODUCED", f"Flatten(axis=1) of (1, 2, 4, 5) flattens the "
                      f"channel-last tensor (element 1: {wrong_found['SavedModel'].ravel()[1]:g} where "
                      f"onnxruntime gives {wrong.ravel()[1]:g}); axis=2 is right")
say("DIFFERENT", "not the channel-last flattening")
