"""TFLiteConverter refuses a float64 (and a float16, and a mixed_float16) Keras model with the
default builtin ops:
TFLite's builtin kernels do not take float64 ("'tf.SpaceToBatchND' op is neither a custom op nor a flex op",
and Conv2D, DepthwiseConv2dNative, Tanh in f64 alike), where the same layer in float32
converts; only the Select TF ops runtime runs them.

Standalone: needs tensorflow (with Keras 3). It builds Input((5, 3, 3)) >
SeparableConv2D(3, (2, 1), dilation_rate=2, activation="tanh") in float64 and in float32 and
converts each with tf.lite.TFLiteConverter.from_keras_model, then Subtract in float16 and
Activation("sigmoid") under the mixed_float16 policy (float32 in and out, float16 inside). The
last line says REPRODUCED (exit 1: float64, float16 and mixed_float16 refused for ops without a
builtin kernel, float32 converted), FIXED (exit 0: all converted), DIFFERENT (exit 2) or CANNOT
RUN (exit 3).
"""


import keras
import tensorflow as tf
from skeleton.verdict import say


def convert(dtype: str):
    inputs = keras.Input((5, 3, 3), dtype=dtype)
    layer = keras.layers.SeparableConv2D(3, (2, 1), dilation_rate=2, activation="tanh",
                                         dtype=dtype)
    model = keras.Model(inputs, layer(inputs))
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def subtract_float16():
    a, b = keras.Input((1,), dtype="float16"), keras.Input((1,), dtype="float16")
    model = keras.Model([a, b], keras.layers.Subtract(dtype="float16")([a, b]))
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def sigmoid_mixed_float16():
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid", dtype="mixed_float16")(inputs))
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


convert("float32")
refused = []
for name, make in (("float64", lambda: convert("float64")), ("float16", subtract_float16),
                   ("mixed_float16", sigmoid_mixed_float16)):
    try:
        make()
        print(f"{name}: converted")
    except Exception as exc:  # noqa: BLE001
        if "is neither a custom op nor a flex op" not in str(exc):
            say("DIFFERENT", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        print(f"{name}: refused, no builtin kernel")
        refused.append(name)
if len(refused) == 3:
    say("REPRODUCED", "TFLiteConverter refused the float64, float16 and mixed_float16 models")
if not refused:
    say("FIXED", "converted")
say("DIFFERENT", f"only {', '.join(refused)} refused")
