"""onnx2tf writes Conv as tf.nn.convolution, which refuses strides above 1 together with
dilations above 1 ("`strides > 1` not supported in conjunction with `dilation_rate > 1`"), so the
conversion fails; tf.nn.conv2d, which TensorFlow also has, computes that convolution on the CPU.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 4, 6), 0..23) -> Conv(W ones (1, 1, 2, 1), strides [2, 2], dilations [2, 2])
-> y at opset 21 (onnxruntime: [12, 16, 20]), and the control with strides [1, 1], converts them
with onnx2tf and runs the SavedModel; it prints what tf.nn.conv2d gives. REPRODUCED: the case is
refused with that message and the control converts right; FIXED: the case converts and agrees
with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
import tensorflow as tf
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT
X = np.arange(24, dtype=np.float32).reshape(1, 1, 4, 6)


def conv(stride):
    return model_of(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[2, 1], dilations=[2, 2],
                          strides=[stride, stride])],
        [helper.make_tensor_value_info("x", F, [1, 1, 4, 6])],
        [helper.make_tensor_value_info("y", F, [1, 1, 1, 3] if stride == 2 else [1, 1, 2, 6])],
        [numpy_helper.from_array(np.ones((1, 1, 2, 1), np.float32), "w")])


# TensorFlow itself computes it: tf.nn.conv2d takes strides and dilations together
direct = tf.nn.conv2d(np.moveaxis(X, 1, -1), np.ones((2, 1, 1, 1), np.float32), strides=2,
                      dilations=2, padding="VALID").numpy()
print(f"tf.nn.conv2d(strides=2, dilations=2) gives {direct.ravel().tolist()}")
verdict = judge("Conv(kernel 2x1, strides [2, 2], dilations [2, 2]) on x (1, 1, 4, 6)",
                conv(2), conv(1), {"x": X}, {"x": X},
                r"`strides > 1` not supported in conjunction with `dilation_rate > 1`")
finish([verdict], "tf.nn.convolution refuses strides 2 with dilations 2; strides 1 converts",
       "Conv with strides and dilations above 1 converts and agrees with onnxruntime")
