"""onnx2tf converts an ONNX Compress with tf.experimental.numpy.compress, which reads `.ndim`
of its operands; a tensor computed at run time is a tf_keras KerasTensor while onnx2tf builds
its Keras model, and a KerasTensor has no `ndim`: the conversion raises "AttributeError:
'KerasTensor' object has no attribute 'ndim'", on the condition where it is a graph input, on
the data where the condition is a constant (initializer).

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and,
where the conversions pass, ai_edge_litert. It builds Compress(x (3, 2), condition, axis=0) with
the condition fed as a graph input and with it an initializer [True, False, True], and converts
both with onnx2tf. The last line says REPRODUCED (exit 1: both raise that AttributeError),
FIXED (exit 0: both convert and onnx2tf's TFLite files give onnxruntime's rows 0 and 2),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say


def compress(condition_fed):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])
    node = helper.make_node("Compress", ["x", "c"], ["y"], axis=0)
    if condition_fed:
        return model([node], [x, c], [y])
    return model([node], [x], [y], [numpy_helper.from_array(CONDITION, "c")])


CONDITION = np.array([True, False, True])
X = np.arange(6, dtype=np.float32).reshape(3, 2)
found = {}
for fed in (True, False):
    case = "condition fed" if fed else "condition an initializer"
    found[case] = (compress(fed), convert_to_tflite(compress(fed)), {"x": X, "c": CONDITION} if fed else {"x": X})
    print(f"{case}: {said(found[case][1])}")

if all(failed(result, AttributeError, "'KerasTensor' object has no attribute 'ndim'")
       for _, result, _ in found.values()):
    say("REPRODUCED", "onnx2tf raised AttributeError: 'KerasTensor' "
                      "object has no attribute 'ndim' on Compress, fed or constant condition")
if all(isinstance(result, str) and tflite_agrees(onnx_model, result, feeds)
       for onnx_model, result, feeds in found.values()):
    say("FIXED", "both Compress models convert and give "
                 "onnxruntime's rows")
say("DIFFERENT", ""
                 + "; ".join(f"{case}: {said(result)}" for case, (_, result, _) in found.items()) + "")
