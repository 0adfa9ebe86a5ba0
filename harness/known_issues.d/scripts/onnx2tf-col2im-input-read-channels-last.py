"""onnx2tf transposes Col2Im's 3-D input (N, C*prod(block_shape), L) as if it were NCW, to
(N, L, C*prod(block_shape)), and then reads its second dimension as C*prod(block_shape), so the
reshape into blocks asks for the wrong number of elements and the conversion fails wherever L
differs from C*prod(block_shape): "Cannot reshape a tensor with 2 elements to shape [1,2,1,1,2]".

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 2)) -> Col2Im(image_shape [1, 2], block_shape [1, 1]) -> y (1, 1, 1, 2) at
opset 18 (onnxruntime: y = x), and the control x (1, 1, 1), image_shape [1, 1], converts it with
onnx2tf and runs the SavedModel. REPRODUCED: the case is refused with that reshape and the control
converts right; FIXED: the case converts and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import const, model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def col2im(length, image):
    return model_of(
        [helper.make_node("Col2Im", ["x", "image", "block"], ["y"])],
        [helper.make_tensor_value_info("x", F, [1, 1, length])],
        [helper.make_tensor_value_info("y", F, [1, 1, *image])],
        [const("image", image), const("block", [1, 1])], opset=18)


verdict = judge("Col2Im x (1, 1, 2), image_shape [1, 2], block_shape [1, 1]",
                col2im(2, [1, 2]), col2im(1, [1, 1]),
                {"x": np.array([[[1.5, -2.0]]], np.float32)},
                {"x": np.array([[[1.5]]], np.float32)},
                r"Cannot reshape a tensor with 2 elements to shape \[1,2,1,1,2\]")
finish([verdict], "onnx2tf reads the transposed (1, 2, 1) input as 2 channels of 2 blocks",
       "Col2Im converts and agrees with onnxruntime")
