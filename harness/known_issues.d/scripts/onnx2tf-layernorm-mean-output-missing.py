"""onnx2tf converts LayerNormalization's Y output only: a node that also asks for its optional Mean
(and InvStdDev) outputs fails, since no converted tensor is recorded under their names
("KeyError: 'mean'").

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (2, 3)) -> LayerNormalization(scale ones, axis -1) -> y, mean (and y, mean,
inv_std_dev) at opset 17, and the control with the y output only, converts them with onnx2tf
and runs the SavedModel. REPRODUCED: both are refused with a KeyError naming the statistics
output and the control converts right; FIXED: both convert and agree with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def layer_norm(*outputs):
    shapes = {"y": [2, 3], "mean": [2, 1], "inv_std_dev": [2, 1]}
    return model_of(
        [helper.make_node("LayerNormalization", ["x", "scale"], list(outputs), axis=-1)],
        [helper.make_tensor_value_info("x", F, [2, 3])],
        [helper.make_tensor_value_info(name, F, shapes[name]) for name in outputs],
        [numpy_helper.from_array(np.ones(3, np.float32), "scale")], opset=17)


feeds = {"x": np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]], np.float32)}
verdicts = [judge(f"LayerNormalization(axis=-1) on x (2, 3), outputs {list(outputs)}",
                  layer_norm(*outputs), layer_norm("y"), feeds, feeds,
                  r"KeyError: '(mean|inv_std_dev)'")
            for outputs in (("y", "mean"), ("y", "mean", "inv_std_dev"))]
finish(verdicts, "the Mean output is never written; the Y-only node converts",
       "LayerNormalization with Mean and InvStdDev outputs converts and agrees with onnxruntime")
