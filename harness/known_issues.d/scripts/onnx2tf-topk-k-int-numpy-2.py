"""onnx2tf's TopK converter reads a constant K with int(k), and ONNX's K is a 1-D tensor of
one element: numpy 2.4 raises "TypeError: only 0-dimensional arrays can be converted to Python
scalars" there (numpy deprecated that conversion in 1.25; onnx2tf's metadata pins numpy
1.26.4, where it is a DeprecationWarning and int() gives the value). A K fed as a graph input
goes through tf.cast instead and converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds TopK(x (3,), K) with K an initializer [2] and with K a graph input,
and converts both with onnx2tf. The last line says REPRODUCED (exit 1: the constant K raises
that TypeError, the fed K converts and gives onnxruntime's values [3, 2], indices [1, 2]),
FIXED (exit 0: both convert and give onnxruntime's outputs; numpy < 2.4, or onnx2tf reading K
otherwise), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say


def topk(k_fed):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [1])
    outputs = [helper.make_tensor_value_info("v", TensorProto.FLOAT, ["n"]),
               helper.make_tensor_value_info("i", TensorProto.INT64, ["n"])]
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=1, sorted=1)
    if k_fed:
        return model([node], [x, k], outputs)
    return model([node], [x], outputs, [numpy_helper.from_array(K, "k")])


K = np.array([2], np.int64)
X = np.array([1.0, 3.0, 2.0], np.float32)
print(f"numpy {np.__version__}")
constant, fed = topk(False), topk(True)
found_constant, found_fed = convert_to_tflite(constant), convert_to_tflite(fed)
print(f"K an initializer: {said(found_constant)}")
print(f"K fed: {said(found_fed)}")
fed_ok = isinstance(found_fed, str) and tflite_agrees(fed, found_fed, {"x": X, "k": K})

if failed(found_constant, TypeError, "only 0-dimensional arrays can be converted") and fed_ok:
    say("REPRODUCED", f"onnx2tf's int() of the constant K (shape (1,)) "
                      f"raised TypeError under numpy {np.__version__}; a fed K converts")
if isinstance(found_constant, str) and tflite_agrees(constant, found_constant, {"x": X}) and fed_ok:
    say("FIXED", f"TopK with a constant K converts and gives "
                 f"onnxruntime's outputs (numpy {np.__version__})")
say("DIFFERENT", f"K an initializer: {said(found_constant)}; K fed: "
                 f"{said(found_fed)}, {'right' if fed_ok else 'wrong or failed'}")
