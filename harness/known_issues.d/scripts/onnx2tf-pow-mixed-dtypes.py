"""onnx2tf writes ONNX Pow as tf.math.pow(x, y), which needs x and y of one type, while ONNX
lets the exponent's type differ from the base's (the result takes the base's): an int32 base
with a float32 exponent, or a float32 base with an int64 exponent, fails ("Input 'y' of 'Pow' Op
has type float32 that does not match type int32 of argument 'x'"). Exponents 2 and 3 given as
constants are written as multiplications and do not meet it.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x, y (2,) -> Pow -> z at opset 19 for x int32 with y float32 and for x float32 with y int64, and
the control with both float32, converts them with onnx2tf and runs the SavedModel.
REPRODUCED: both mixed models refused with that error and the control converts right; FIXED:
both convert and agree with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish


def power(base, exponent):
    return model_of(
        [helper.make_node("Pow", ["x", "y"], ["z"])],
        [helper.make_tensor_value_info("x", base, [2]),
         helper.make_tensor_value_info("y", exponent, [2])],
        [helper.make_tensor_value_info("z", base, [2])], opset=19)


I32, I64, F = TensorProto.INT32, TensorProto.INT64, TensorProto.FLOAT
floats = {"x": np.array([1.5, 3.0], np.float32), "y": np.array([0.5, 4.0], np.float32)}
verdicts = [
    judge("Pow(x int32 [2, 3], y float32 [0.5, 4.0])", power(I32, F), power(F, F),
          {"x": np.array([2, 3], np.int32), "y": np.array([0.5, 4.0], np.float32)}, floats,
          r"Input 'y' of 'Pow' Op has type float32 that does not match type int32 of argument 'x'"),
    judge("Pow(x float32 [1.5, 3.0], y int64 [1, 4])", power(F, I64), power(F, F),
          {"x": np.array([1.5, 3.0], np.float32), "y": np.array([1, 4], np.int64)}, floats,
          r"Input 'y' of 'Pow' Op has type int64 that does not match type float32 of argument 'x'"),
]
finish(verdicts, "tf.math.pow given a base and an exponent of two types; float32 ** float32 converts",
       "Pow with a base and an exponent of two types converts and agrees with onnxruntime")
