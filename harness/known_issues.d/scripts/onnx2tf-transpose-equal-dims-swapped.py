"""onnx2tf gets a Transpose of a rank-5 tensor wrong when two of its spatial dimensions are
equal: Transpose with no perm (reverse every axis) of x (1, 1, 3, 3, 2) gives x transposed
(4, 2, 3, 1, 0), the two 3s swapped, where ONNX asks for (4, 3, 2, 1, 0); the same with
x (1, 1, 3, 4, 2) is right.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (1, 1, 3, 3, 2)) -> Transpose -> y at opset 13, and for contrast the same with
(1, 1, 3, 4, 2), converts each with onnx2tf, and runs the SavedModel's signature and the float32
TFLite file on x in the channel-last layout onnx2tf documents (axis 1 last); their outputs have
ONNX's shape. The last line says REPRODUCED (exit 1: the (1, 1, 3, 3, 2) output is x transposed
(4, 2, 3, 1, 0) on both, the other right), FIXED (exit 0: both agree with onnxruntime),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def case(shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["y"])], "transpose",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape[::-1])])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13)])
    expected = onnxruntime(model, {"x": x})
    feeds = {"x": np.ascontiguousarray(np.moveaxis(x, 1, -1))}
    found = onnx2tf_outputs(model, feeds)
    print(f"x {shape}: output[0, :, :, 0, 0]")
    print(f"  onnxruntime  {expected[0, :, :, 0, 0].tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value[0, :, :, 0, 0].tolist()}")
    return x, expected, found


x, square, square_found = case([1, 1, 3, 3, 2])
_, plain, plain_found = case([1, 1, 3, 4, 2])
plain_ok = all(np.array_equal(v, plain) for v in plain_found.values())
if plain_ok and all(np.array_equal(v, square) for v in square_found.values()):
    say("FIXED", "both agree with onnxruntime")
swapped = x.transpose(4, 2, 3, 1, 0)
if plain_ok and all(np.array_equal(v, swapped) for v in square_found.values()):
    say("REPRODUCED", "the (1, 1, 3, 3, 2) input comes out "
                      "transposed (4, 2, 3, 1, 0), its two 3s swapped; (1, 1, 3, 4, 2) is right")
say("DIFFERENT", "not the swapped transpose")
