"""onnx2tf ignores Pad's optional axes input (opset 18 on): it reshapes the pads to (2, rank of
the data), so pads for fewer axes than the data has fail: "cannot reshape array of size 2 into
shape (2,4)".

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 2, 3)) -> Pad(pads [1, 1], axes [3], constant) -> y (1, 1, 2, 5) at opset 18,
and the control with the same padding written for all 4 axes and no axes input, converts them
with onnx2tf and runs the SavedModel. REPRODUCED: the case is refused with that reshape and the
control converts right; FIXED: the case converts and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import const, model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def pad(pads, axes):
    inputs, initializers = ["x", "pads"], [const("pads", pads)]
    if axes is not None:
        inputs += ["", "axes"]
        initializers.append(const("axes", axes))
    return model_of(
        [helper.make_node("Pad", inputs, ["y"], mode="constant")],
        [helper.make_tensor_value_info("x", F, [1, 1, 2, 3])],
        [helper.make_tensor_value_info("y", F, [1, 1, 2, 5])], initializers, opset=18)


feeds = {"x": np.array([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]], np.float32)}
verdict = judge("Pad(pads [1, 1], axes [3]) on x (1, 1, 2, 3)",
                pad([1, 1], [3]), pad([0, 0, 0, 1, 0, 0, 0, 1], None), feeds, feeds,
                r"cannot reshape array of size 2 into shape \(2,4\)")
finish([verdict], "Pad's 2 pads for axes [3] reshaped to (2, rank 4); all 8 pads convert",
       "Pad with an axes input converts and agrees with onnxruntime")
