"""onnx2tf refuses auto_pad=SAME_LOWER on Conv and ConvTranspose ("Invalid auto_pad attribute:
SAME_LOWER", an assertion in its Conv and ConvTranspose converters), though it converts
SAME_UPPER, which differs only in putting the odd pad first.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 3)) -> Conv(W (1, 1, 2), auto_pad=SAME_LOWER) -> y, and the same ConvTranspose,
at opset 21, with the Conv with SAME_UPPER and the ConvTranspose with no auto_pad as controls,
converts them with onnx2tf and runs the SavedModel. REPRODUCED: both SAME_LOWER models refused
with that message and both controls converted right; FIXED: both convert and agree with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT
WEIGHT = np.array([[[1.0, 2.0]]], np.float32)


def conv(op, auto_pad, length=3):
    return model_of(
        [helper.make_node(op, ["x", "w"], ["y"], auto_pad=auto_pad, kernel_shape=[2])],
        [helper.make_tensor_value_info("x", F, [1, 1, 3])],
        [helper.make_tensor_value_info("y", F, [1, 1, length])],
        [numpy_helper.from_array(WEIGHT, "w")])


feeds = {"x": np.array([[[1.0, -2.0, 3.0]]], np.float32)}
verdicts = [
    judge("Conv(auto_pad=SAME_LOWER, kernel 2) on x (1, 1, 3)", conv("Conv", "SAME_LOWER"),
          conv("Conv", "SAME_UPPER"), feeds, feeds, r"Invalid auto_pad attribute: SAME_LOWER"),
    # the control is NOTSET: this ConvTranspose with SAME_UPPER converts, but its SavedModel
    # aborts in TensorFlow's oneDNN conv1d_transpose at run time, another matter
    judge("ConvTranspose(auto_pad=SAME_LOWER, kernel 2) on x (1, 1, 3)",
          conv("ConvTranspose", "SAME_LOWER"), conv("ConvTranspose", "NOTSET", 4), feeds, feeds,
          r"Invalid auto_pad attribute: SAME_LOWER"),
]
finish(verdicts, "Conv and ConvTranspose with auto_pad=SAME_LOWER refused, their controls convert",
       "auto_pad=SAME_LOWER converts and agrees with onnxruntime")
