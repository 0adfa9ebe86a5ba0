"""onnx2tf refuses MaxPool with storage_order=1 ("storage_order option is not implemented yet"),
even where the node has no Indices output, the only output that attribute changes.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 4)) -> MaxPool(kernel 2, storage_order 1) -> y (1, 1, 3) at opset 12, and the
control with storage_order 0, converts them with onnx2tf and runs the SavedModel. REPRODUCED:
the case is refused with that message and the control converts right; FIXED: the case converts
and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def max_pool(storage_order):
    return model_of(
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2], storage_order=storage_order)],
        [helper.make_tensor_value_info("x", F, [1, 1, 4])],
        [helper.make_tensor_value_info("y", F, [1, 1, 3])], opset=12)


feeds = {"x": np.array([[[1.5, -2.0, 3.0, 0.5]]], np.float32)}
verdict = judge("MaxPool(kernel 2, storage_order=1) on x (1, 1, 4), output Y only",
                max_pool(1), max_pool(0), feeds, feeds,
                r"storage_order option is not implemented yet")
finish([verdict], "storage_order=1 refused though it only orders the Indices output",
       "MaxPool with storage_order=1 converts and agrees with onnxruntime")
