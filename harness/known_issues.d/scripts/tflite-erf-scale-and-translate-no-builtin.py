# By hand: its Erf case is a model of parity's own Keras objects (CustomOps' erf), which a
# standalone script cannot define; the generated script of the entry's other minimal spec shows
# the ScaleAndTranslate refusal alone.
"""TFLiteConverter (TensorFlow 2.21, default builtin ops, float32) refuses a Keras model that
computes keras.ops.erf ("'tf.Erf' op is neither a custom op nor a flex op") or resizes with
antialias=True or a lanczos interpolation, which tf.image.resize computes with
ScaleAndTranslate ("'tf.ScaleAndTranslate' op ..."): TFLite has no builtin kernel for
either op; only the Select TF ops runtime runs them. Keras' exact GELU converts (TFLite fuses it
into its GELU builtin), and Resizing without antialias converts.

Standalone: needs tensorflow (with Keras 3). It converts Input((1,)) > keras.ops.erf and
Input((2, 2, 1)) > Resizing(1, 1, antialias=True), and Resizing(1, 1) without antialias, with
tf.lite.TFLiteConverter.from_keras_model. The last line says REPRODUCED (exit 1: the first two
refused for those ops, the third converted), FIXED (exit 0: all converted), DIFFERENT (exit 2)
or CANNOT RUN (exit 3).
"""


import keras
from skeleton.keras_tflite import keras_to_tflite
from skeleton.verdict import say

refused = {
    "Erf": keras_to_tflite(keras.ops.erf, (1,)),
    "ScaleAndTranslate": keras_to_tflite(keras.layers.Resizing(1, 1, antialias=True), (2, 2, 1)),
}
plain = keras_to_tflite(keras.layers.Resizing(1, 1), (2, 2, 1))
for op, what in refused.items():
    print(f"expecting tf.{op}: {what}")
print(f"Resizing without antialias: {plain}")
if all(what == "converted" for what in refused.values()):
    say("FIXED", "erf and the antialiased resize converted")
if plain == "converted" and all(f"'tf.{op}' op is neither a custom op nor a flex op" in what
                                for op, what in refused.items()):
    say("REPRODUCED", "TFLite has no builtin Erf nor ScaleAndTranslate")
say("DIFFERENT", f"{refused}, plain resize: {plain}")
