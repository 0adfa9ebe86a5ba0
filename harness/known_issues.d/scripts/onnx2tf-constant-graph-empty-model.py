"""A graph whose outputs do not depend on any graph input (Range of three initializers, no
graph inputs) is folded by onnxsim, which onnx2tf runs first, into an initializer output; onnx2tf
leaves a graph output that is a constant out of its Keras model (onnx2tf#627), so the model it
hands to TFLiteConverter has no inputs and no outputs, and the conversion raises "ConverterError:
Could not translate MLIR to FlatBuffer." The same Range added to a graph input converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds Range(0, 4, 1) from initializers as the graph's only node, and
x (4,) + Range(0, 4, 1) as the control, converts both with onnx2tf, and counts the inputs and
outputs of the Keras model onnx2tf passes to tf.lite.TFLiteConverter.from_keras_model. The last
line says REPRODUCED (exit 1: the Range graph raises that ConverterError from a Keras model of
0 inputs and 0 outputs, the control converts and gives onnxruntime's x + [0, 1, 2, 3]), FIXED
(exit 0: both convert and give onnxruntime's outputs), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import tensorflow as tf
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say

KERAS_MODELS = []  # (inputs, outputs) of each Keras model onnx2tf hands TFLiteConverter
_from_keras_model = tf.lite.TFLiteConverter.from_keras_model


def _counting(keras_model):
    KERAS_MODELS.append((len(keras_model.inputs), len(keras_model.outputs)))
    return _from_keras_model(keras_model)


tf.lite.TFLiteConverter.from_keras_model = staticmethod(_counting)


def ranged(with_input):
    bounds = [numpy_helper.from_array(np.array(value, np.float32), name)
              for name, value in (("start", 0), ("limit", 4), ("delta", 1))]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    if not with_input:
        return model([helper.make_node("Range", ["start", "limit", "delta"], ["y"])], [], [y], bounds)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    return model([helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
                  helper.make_node("Add", ["x", "r"], ["y"])], [x], [y], bounds)


FEEDS = {"x": np.array([0.5, -1.0, 2.0, 3.0], np.float32)}
alone, added = ranged(False), ranged(True)
found_alone = convert_to_tflite(alone)
keras_alone = KERAS_MODELS[-1] if KERAS_MODELS else None
found_added = convert_to_tflite(added)
print(f"Range alone: {said(found_alone)} (Keras model inputs, outputs: {keras_alone})")
print(f"x + Range: {said(found_added)}")
added_ok = isinstance(found_added, str) and tflite_agrees(added, found_added, FEEDS)

if failed(found_alone, Exception, "Could not translate MLIR to FlatBuffer") \
        and keras_alone == (0, 0) and added_ok:
    say("REPRODUCED", "the Range-only graph gave a Keras model of no "
                      "inputs and no outputs, which TFLiteConverter refused; x + Range converts")
if isinstance(found_alone, str) and tflite_agrees(alone, found_alone, {}) and added_ok:
    say("FIXED", "the Range-only graph converts and gives "
                 "onnxruntime's [0, 1, 2, 3]")
say("DIFFERENT", f"Range alone: {said(found_alone)}, Keras model "
                 f"{keras_alone}; x + Range: {said(found_added)}, "
                 f"{'right' if added_ok else 'wrong or failed'}")
