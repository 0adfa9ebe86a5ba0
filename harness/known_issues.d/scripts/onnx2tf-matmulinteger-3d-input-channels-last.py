"""onnx2tf transposes a 3-D graph input to channels-last, (N, M, K) to (N, K, M), and its
MatMulInteger converter multiplies the transposed tensor as it is, so the inner dimensions no
longer meet ("Dimensions must be equal, but are 2 and 3"); MatMul of the same shapes converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
a int8 (1, 2, 3), b int8 (3, 2) -> MatMulInteger -> y int32 (1, 2, 2) at opset 17, and the
control with a (2, 3), converts them with onnx2tf and runs the SavedModel. REPRODUCED: the case
is refused with that error and the control converts right; FIXED: the case converts and agrees
with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

I8 = TensorProto.INT8


def matmul_integer(a_shape):
    return model_of(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        [helper.make_tensor_value_info("a", I8, a_shape),
         helper.make_tensor_value_info("b", I8, [3, 2])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [*a_shape[:-1], 2])], opset=17)


a = np.array([[[1, -2, 3], [4, 5, -6]]], np.int8)
b = np.array([[1, 2], [-1, 0], [2, 1]], np.int8)
verdict = judge("MatMulInteger(a int8 (1, 2, 3), b int8 (3, 2))", matmul_integer([1, 2, 3]),
                matmul_integer([2, 3]), {"a": a, "b": b}, {"a": a[0], "b": b},
                r"Dimensions must be equal, but are 2 and 3")
finish([verdict], "the 3-D input multiplied in onnx2tf's channels-last layout; 2-D converts",
       "MatMulInteger with a 3-D input converts and agrees with onnxruntime")
