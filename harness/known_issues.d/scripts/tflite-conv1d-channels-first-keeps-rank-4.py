"""TFLiteConverter (TensorFlow 2.21, default builtin ops, float32) converts a Keras Conv1D in
channels_first, which TensorFlow runs in a 4-D form (ExpandDims > Conv2D > Squeeze, transposed),
to a model whose output keeps the 4-D form: Conv1D(1, 1) on (1, 1, 3) gives (1, 1, 1, 3) where
Keras gives (1, 1, 3), the same values (wrong-output). With a bias the add after it meets the
rank-4 tensor and the converter refuses the model: "'tfl.add' op result type '?x3x94...' not
broadcast compatible" (one filter; a dimension of garbage) or "'tf.Transpose' op x should be of
the same rank with y, got x of rank 3, and y of rank 4" (two); SeparableConv1D and
DepthwiseConv1D with a bias are refused alike. channels_last converts right.

Standalone: needs numpy and tensorflow (with Keras 3). It converts Input((1, 3)) > Conv1D(1, 1,
data_format="channels_first") without and with a bias (ones) with
tf.lite.TFLiteConverter.from_keras_model and runs the first with tf.lite.Interpreter. The last
line says REPRODUCED (exit 1: the output is (1, 1, 1, 3) and the biased layer is refused),
FIXED (exit 0: (1, 1, 3), and the biased one converts), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""


import keras
import numpy as np
import tensorflow as tf
from skeleton.keras_tflite import tflite_refusal
from skeleton.verdict import say


def convert(filters: int, use_bias: bool) -> str:
    """The TFLite model's output shape against Keras', or the converter's first error line."""
    inputs = keras.Input((1, 3))
    layer = keras.layers.Conv1D(filters, 1, data_format="channels_first", use_bias=use_bias,
                                bias_initializer="ones")
    model = keras.Model(inputs, layer(inputs))
    try:
        flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as exc:  # noqa: BLE001
        return "refused: " + tflite_refusal(exc)
    interpreter = tf.lite.Interpreter(model_content=flat)
    runner = interpreter.get_signature_runner("serving_default")
    (name,) = interpreter.get_signature_list()["serving_default"]["inputs"]
    x = np.ones((1, 1, 3), np.float32)
    (got,) = runner(**{name: x}).values()
    return f"Keras {tuple(model(x).shape)}, TFLite {tuple(got.shape)}"


unbiased, biased = convert(1, False), convert(1, True)
print(f"Conv1D(1, channels_first) on (1, 1, 3): {unbiased}")
print(f"the same with a bias: {biased}")
if unbiased == "Keras (1, 1, 3), TFLite (1, 1, 3)" and not biased.startswith("refused"):
    say("FIXED", "the output has Keras' shape and the biased layer converts")
if unbiased == "Keras (1, 1, 3), TFLite (1, 1, 1, 3)" and "not broadcast compatible" in biased:
    say("REPRODUCED", "the output keeps the 4-D form and the biased layer is refused")
say("DIFFERENT", f"{unbiased}; {biased}")
