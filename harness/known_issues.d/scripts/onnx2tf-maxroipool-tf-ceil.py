"""onnx2tf (1.29.24) cannot convert any MaxRoiPool: onnx2tf/ops/MaxRoiPool.py computes the end of
each bin with tf.ceil, which TensorFlow 2 does not have (only tf.math.ceil; tf.ceil was TF 1's),
so tracing the op raises "AttributeError: module 'tensorflow' has no attribute 'ceil'".

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (and the onnxsim command it calls) and
TensorFlow. It builds x (1, 2, 4, 4) -> MaxRoiPool(pooled_shape [2, 2], one roi over the whole
map) -> y, an ordinary size, prints onnxruntime's answer and converts the model with onnx2tf.
The last line says REPRODUCED (exit 1: onnx2tf raised that AttributeError), FIXED (exit 0: the
SavedModel converts and matches onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnx
import tensorflow as tf
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def model(size, roi, pooled):
    graph = helper.make_graph(
        [helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=pooled,
                          spatial_scale=1.0)], "maxroipool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2] + pooled)],
        initializer=[numpy_helper.from_array(np.array([roi], dtype=np.float32), "rois")])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def convert_and_run(onnx_model, x):
    """onnx2tf's SavedModel of onnx_model run by TensorFlow on x (NCHW; the SavedModel is NHWC)."""
    signature, _ = convert_signature(onnx_model)
    return savedmodel(signature, {"x": x.transpose(0, 2, 3, 1)}).transpose(0, 3, 1, 2)


print(f"TensorFlow {tf.__version__}: tf.ceil {'exists' if hasattr(tf, 'ceil') else 'does not exist'}"
      f", tf.math.ceil {'exists' if hasattr(tf.math, 'ceil') else 'does not exist'}")
x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
onnx_model = model(4, [0.0, 0.0, 0.0, 3.0, 3.0], [2, 2])  # a 4x4 map, a 2x2 pooling of it all
onnx.checker.check_model(onnx_model, full_check=True)
expected = onnxruntime(onnx_model, {"x": x})
print(f"onnxruntime gives {expected.ravel().round(4).tolist()}")
try:
    found = convert_and_run(onnx_model, x)
except AttributeError as exc:
    if "has no attribute 'ceil'" in str(exc):
        print("onnx2tf raised AttributeError: module 'tensorflow' has no attribute 'ceil' "
              "(onnx2tf/ops/MaxRoiPool.py calls tf.ceil)")
        say("REPRODUCED", "onnx2tf's MaxRoiPool calls tf.ceil, "
                          "which TensorFlow 2 does not have")
    say("DIFFERENT", f"AttributeError: {str(exc)[:200]}")
except (Exception, SystemExit) as exc:  # noqa: BLE001  (onnx2tf exits on some failures)
    say("DIFFERENT", f"{type(exc).__name__}: "
                     f"{str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ''}")
print(f"onnx2tf's SavedModel gives {found.ravel().round(4).tolist()}")
if found.shape == expected.shape and np.allclose(found, expected, atol=1e-5):
    say("FIXED", "onnx2tf converts MaxRoiPool and it matches")
say("DIFFERENT", "onnx2tf converts MaxRoiPool, but its numbers "
                 "differ")
