"""onnx2tf converts an ONNX EyeLike by reading its input's shape with tf.shape and comparing
the offset k with a dimension of it in Python (`abs(offset) > max_eye_shape_ub`); for an input
computed at run time that dimension is a symbolic tf_keras KerasTensor while onnx2tf builds its
Keras model, and taking the truth of the comparison raises "TypeError: Keras symbolic
inputs/outputs do not implement `__len__`", whatever k.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and,
where the conversions pass, ai_edge_litert. It builds EyeLike(k=1) of a graph input x (2, 3),
and of Relu(x), and converts both with onnx2tf. The last line says REPRODUCED (exit 1: both
raise that TypeError), FIXED (exit 0: both convert and onnx2tf's TFLite files give
onnxruntime's [[0, 1, 0], [0, 0, 1]]), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say


def eyelike(after_relu):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    if after_relu:
        nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("EyeLike", ["r"], ["y"], k=1)]
    else:
        nodes = [helper.make_node("EyeLike", ["x"], ["y"], k=1)]
    return model(nodes, [x], [y])


FEEDS = {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}
found = {}
for after_relu in (False, True):
    case = "EyeLike(Relu(x))" if after_relu else "EyeLike(x)"
    found[case] = (eyelike(after_relu), convert_to_tflite(eyelike(after_relu)))
    print(f"{case}: {said(found[case][1])}")

if all(failed(result, TypeError, "do not implement `__len__`") for _, result in found.values()):
    say("REPRODUCED", "onnx2tf raised TypeError: Keras symbolic "
                      "inputs/outputs do not implement `__len__` on EyeLike")
if all(isinstance(result, str) and tflite_agrees(onnx_model, result, FEEDS)
       for onnx_model, result in found.values()):
    say("FIXED", "both EyeLike models convert and give "
                 "onnxruntime's matrix")
say("DIFFERENT", ""
                 + "; ".join(f"{case}: {said(result)}" for case, (_, result) in found.items()) + "")
