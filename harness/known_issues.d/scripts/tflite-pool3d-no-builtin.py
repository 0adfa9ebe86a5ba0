"""TFLiteConverter refuses Keras' MaxPooling3D and AveragePooling3D with the default builtin
ops: "'tf.MaxPool3D' op is neither a custom op nor a flex op" (and tf.AvgPool3D): TFLite has
no builtin 3D pooling kernel; only the Select TF ops (flex) runtime runs them.

Standalone: needs tensorflow (with Keras 3). It converts Input((2, 2, 2, 1)) > MaxPooling3D(1)
and > AveragePooling3D(1) with tf.lite.TFLiteConverter.from_keras_model, float32. The last line
says REPRODUCED (exit 1: both refused for that reason), FIXED (exit 0: both converted),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import keras
import tensorflow as tf
from skeleton.verdict import say

refused = 0
for layer, op in ((keras.layers.MaxPooling3D(1), "MaxPool3D"),
                  (keras.layers.AveragePooling3D(1), "AvgPool3D")):
    inputs = keras.Input((2, 2, 2, 1))
    model = keras.Model(inputs, layer(inputs))
    try:
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
        print(f"{op}: converted")
    except Exception as exc:  # noqa: BLE001
        if f"'tf.{op}' op is neither a custom op nor a flex op" in str(exc):
            print(f"{op}: refused, no builtin kernel")
            refused += 1
        else:
            say("DIFFERENT", f"{op}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
if refused == 2:
    say("REPRODUCED", "TFLiteConverter refused both 3D poolings")
if refused == 0:
    say("FIXED", "the 3D poolings converted")
say("DIFFERENT", "only one 3D pooling refused")
