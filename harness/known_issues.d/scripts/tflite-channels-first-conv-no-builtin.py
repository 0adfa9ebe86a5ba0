"""TFLiteConverter (TensorFlow 2.21, default builtin ops, float32) refuses Keras' transposed
convolutions and 3-D convolutions in channels_first: the converted graph keeps TensorFlow ops
that TFLite has no builtin kernel for, "'tf.DataFormatVecPermute' op is neither a custom op
nor a flex op" for Conv1DTranspose and Conv2DTranspose, 'tf.Conv3D' for Conv3D and
'tf.Conv3DBackpropInputV2' for Conv3DTranspose; the same layers in channels_last convert. Only
the Select TF ops runtime runs them.

Standalone: needs tensorflow (with Keras 3). It converts Input((1, 3)) > Conv1DTranspose(1, 1)
and Input((1, 2, 2, 2)) > Conv3D(1, 1) in channels_first, and Conv3D in channels_last, with
tf.lite.TFLiteConverter.from_keras_model. The last line says REPRODUCED (exit 1: both
channels_first layers refused for those ops, channels_last converted), FIXED (exit 0: all
converted), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import keras
from skeleton.keras_tflite import keras_to_tflite
from skeleton.verdict import say

first = {
    "DataFormatVecPermute": keras_to_tflite(
        keras.layers.Conv1DTranspose(1, 1, data_format="channels_first"), (1, 3)),
    "Conv3D": keras_to_tflite(keras.layers.Conv3D(1, 1, data_format="channels_first"), (1, 2, 2, 2)),
}
last = keras_to_tflite(keras.layers.Conv3D(1, 1, data_format="channels_last"), (2, 2, 2, 1))
for op, what in first.items():
    print(f"channels_first, expecting tf.{op}: {what}")
print(f"Conv3D channels_last: {last}")
if all(what == "converted" for what in first.values()):
    say("FIXED", "the channels_first layers converted")
if last == "converted" and all(f"'tf.{op}' op is neither a custom op nor a flex op" in what
                               for op, what in first.items()):
    say("REPRODUCED", "the channels_first layers kept ops TFLite has no builtin for")
say("DIFFERENT", f"{first}, channels_last: {last}")
