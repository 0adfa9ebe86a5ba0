"""TensorFlow's TFLite has neither a builtin nor a Select TF (Flex) kernel for tf.IsInf on float64,
which onnx2tf writes for a float64 ONNX IsInf: onnx2tf writes its SavedModel, then converts it to
TFLite with SELECT_TF_OPS, and the converter's refusal ("'tf.IsInf' op is neither a custom op nor
a flex op") propagates out of onnx2tf.convert, so no model comes back at all. Float32 IsInf
converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (3,) = [1.5, inf, -inf] -> IsInf -> y at opset 19 in float64, and the control in float32,
converts them with onnx2tf and runs the SavedModel. REPRODUCED: the float64 model is refused
with that message and the float32 one converts right; FIXED: the float64 one converts and
agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish


def is_inf(dtype):
    return model_of(
        [helper.make_node("IsInf", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", dtype, [3])],
        [helper.make_tensor_value_info("y", TensorProto.BOOL, [3])], opset=19)


values = [1.5, np.inf, -np.inf]
verdict = judge(f"IsInf of {values} (float64)", is_inf(TensorProto.DOUBLE),
                is_inf(TensorProto.FLOAT), {"x": np.array(values, np.float64)},
                {"x": np.array(values, np.float32)},
                r"'tf\.IsInf' op is neither a custom op nor a flex op")
finish([verdict], "TFLite has no float64 IsInf kernel and onnx2tf.convert fails as a whole; "
       "float32 converts", "float64 IsInf converts and agrees with onnxruntime")
