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

import sys

import keras
import tensorflow as tf
from skeleton.verdict import KNOWN_ISSUE


def convert(fn, shape) -> str:
    """'converted', or the converter's first error line."""
    inputs = keras.Input(shape)
    model = keras.Model(inputs, fn(inputs))
    try:
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
        return "converted"
    except Exception as exc:  # noqa: BLE001
        lines = [line for line in str(exc).splitlines() if "error:" in line]
        return (lines[0] if lines else str(exc).splitlines()[0]).rsplit(")): ", 1)[-1][:200]


refused = {
    "Erf": convert(keras.ops.erf, (1,)),
    "ScaleAndTranslate": convert(keras.layers.Resizing(1, 1, antialias=True), (2, 2, 1)),
}
plain = convert(keras.layers.Resizing(1, 1), (2, 2, 1))
for op, what in refused.items():
    print(f"expecting tf.{op}: {what}")
print(f"Resizing without antialias: {plain}")
if all(what == "converted" for what in refused.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: erf and the antialiased resize converted (exit 0)")
    sys.exit(0)
if plain == "converted" and all(f"'tf.{op}' op is neither a custom op nor a flex op" in what
                                for op, what in refused.items()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: TFLite has no builtin Erf nor ScaleAndTranslate (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {refused}, plain resize: {plain} (exit 2)")
sys.exit(2)
