"""TensorFlow's TFLiteConverter on a Keras model, as parity's tflite stage runs it."""

import keras
import tensorflow as tf


def tflite_refusal(exc):
    """The converter's first error line (without the op's location)."""
    lines = [line for line in str(exc).splitlines() if "error:" in line]
    return (lines[0] if lines else str(exc).splitlines()[0]).rsplit(")): ", 1)[-1][:200]


def keras_to_tflite(layer, shape) -> str:
    """'converted', or the converter's first error line, for keras.Input(shape) -> layer."""
    inputs = keras.Input(shape)
    model = keras.Model(inputs, layer(inputs))
    try:
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
        return "converted"
    except Exception as exc:  # noqa: BLE001  (the refusal is the finding)
        return tflite_refusal(exc)
