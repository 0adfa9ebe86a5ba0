"""onnx2tf fails on a Slice whose optional axes input is omitted (written as the empty name) while
its steps input is given: it looks the empty name up among the converted tensors ("KeyError: ''").

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 3)) -> Slice(starts [0, 1], ends [1, 3], axes omitted, steps [1, 1]) -> y (1, 2)
at opset 18, and the control with axes [0, 1], converts them with onnx2tf and runs the
SavedModel. REPRODUCED: the case is refused with that KeyError and the control converts right;
FIXED: the case converts and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import const, model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def slice_(axes):
    initializers = [const("starts", [0, 1]), const("ends", [1, 3]), const("steps", [1, 1])]
    if axes is not None:
        initializers.append(const("axes", axes))
    return model_of(
        [helper.make_node("Slice", ["x", "starts", "ends", "axes" if axes else "", "steps"],
                          ["y"])],
        [helper.make_tensor_value_info("x", F, [1, 3])],
        [helper.make_tensor_value_info("y", F, [1, 2])], initializers, opset=18)


feeds = {"x": np.array([[1.5, -2.0, 3.0]], np.float32)}
verdict = judge("Slice(starts [0, 1], ends [1, 3], axes omitted, steps [1, 1]) on x (1, 3)",
                slice_(None), slice_([0, 1]), feeds, feeds, r"KeyError: ''")
finish([verdict], "the omitted axes input (name '') looked up as a tensor; axes [0, 1] converts",
       "Slice with steps and no axes converts and agrees with onnxruntime")
