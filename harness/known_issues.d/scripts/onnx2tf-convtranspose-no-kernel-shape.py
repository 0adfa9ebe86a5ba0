"""onnx2tf needs ConvTranspose's optional kernel_shape attribute: without it (the shape is then
the weight's, as the ONNX spec says) it permutes the weight with a permutation of
len(kernel_shape) + 2 = 2 axes and fails: "ValueError: axes don't match array". Its Conv
converter falls back to the weight's rank; ConvTranspose does not.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 2)) -> ConvTranspose(W (1, 1, 2)) -> y (1, 1, 3) at opset 21 with no
kernel_shape, and the control with kernel_shape=[2], converts them with onnx2tf and runs the
SavedModel. REPRODUCED: the case is refused with that error and the control converts right;
FIXED: the case converts and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def conv_transpose(**attrs):
    return model_of(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)],
        [helper.make_tensor_value_info("x", F, [1, 1, 2])],
        [helper.make_tensor_value_info("y", F, [1, 1, 3])],
        [numpy_helper.from_array(np.array([[[1.0, 2.0]]], np.float32), "w")])


feeds = {"x": np.array([[[1.0, -2.0]]], np.float32)}
verdict = judge("ConvTranspose with no kernel_shape attribute, x (1, 1, 2), W (1, 1, 2)",
                conv_transpose(), conv_transpose(kernel_shape=[2]), feeds, feeds,
                r"axes don't match array")
finish([verdict], "no kernel_shape: the (1, 1, 2) weight transposed by a 2-axis permutation",
       "ConvTranspose without kernel_shape converts and agrees with onnxruntime")
