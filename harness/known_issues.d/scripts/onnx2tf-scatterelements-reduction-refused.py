"""onnx2tf refuses ScatterElements with any reduction but "none" ("ScatterElements currently
supports only reduction=['none']", then sys.exit(1)).

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (2,)), updates (1,) -> ScatterElements(indices [0], reduction) -> y at opset 18 for
reduction add, mul, max and min, and the control with reduction none, converts them with onnx2tf
and runs the SavedModel. REPRODUCED: all four refused with that message and the control converts
right; FIXED: all four convert and agree with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import const, model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def scatter(reduction):
    return model_of(
        [helper.make_node("ScatterElements", ["x", "indices", "updates"], ["y"],
                          reduction=reduction)],
        [helper.make_tensor_value_info("x", F, [2]),
         helper.make_tensor_value_info("updates", F, [1])],
        [helper.make_tensor_value_info("y", F, [2])], [const("indices", [0])], opset=18)


feeds = {"x": np.array([1.5, -2.0], np.float32), "updates": np.array([3.0], np.float32)}
verdicts = [judge(f"ScatterElements(reduction={reduction}) of [3.0] into x[0] = 1.5",
                  scatter(reduction), scatter("none"), feeds, feeds,
                  r"ScatterElements currently supports only reduction=\['none'\]")
            for reduction in ("add", "mul", "max", "min")]
finish(verdicts, "reduction add, mul, max and min refused; none converts",
       "every reduction converts and agrees with onnxruntime")
