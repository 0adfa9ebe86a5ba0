"""onnx2tf decides whether it transposed a graph input to channel-last by comparing the two
shapes (ops/Input.py); where they are equal, as for a (1, 3, 3) or (1, 2, 2, 2) input whose
dimensions after the batch are all equal, it records the input as untransposed, so a Reshape of
it skips the transpose back to ONNX's order and flattens the channel-last tensor it is fed.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (1, 3, 3)) -> Reshape([9]) -> y at opset 21, and for contrast the same with
x (1, 3, 4) -> Reshape([12]), converts each with onnx2tf, and runs the SavedModel's signature and
the float32 TFLite file on x in the channel-last layout onnx2tf documents (x transposed (0, 2, 1)).
The last line says REPRODUCED (exit 1: the square input's flattening is the channel-last order
on both, the (1, 3, 4) one is right), FIXED (exit 0: both agree with onnxruntime), DIFFERENT
(exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def case(shape):
    size = int(np.prod(shape))
    x = np.arange(size, dtype=np.float32).reshape(shape)
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])], "reshape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [size])],
        [numpy_helper.from_array(np.array([size], np.int64), "shape")])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    expected = onnxruntime(model, {"x": x})
    feeds = {"x": np.ascontiguousarray(x.transpose(0, 2, 1))}
    found = onnx2tf_outputs(model, feeds)
    print(f"x {shape}, fed channel-last {list(feeds['x'].shape)}")
    print(f"  onnxruntime  {expected.tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value.tolist()}")
    return expected, found, feeds["x"].ravel()


square, square_found, square_flat = case([1, 3, 3])
plain, plain_found, _ = case([1, 3, 4])
square_ok = all(np.array_equal(v, square) for v in square_found.values())
plain_ok = all(np.array_equal(v, plain) for v in plain_found.values())
if square_ok and plain_ok:
    say("FIXED", "both inputs flatten in ONNX's order")
if plain_ok and all(np.array_equal(v, square_flat) for v in square_found.values()):
    say("REPRODUCED", f"the (1, 3, 3) input is flattened in its "
                      f"channel-last order (element 1: {square_found['SavedModel'][1]:g} where onnxruntime "
                      f"gives {square[1]:g}); the (1, 3, 4) one is right")
say("DIFFERENT", "not the channel-last flattening")
