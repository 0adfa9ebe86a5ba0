"""TFLiteConverter refuses a Keras recurrent layer (LSTM, GRU, SimpleRNN, and Bidirectional
around them) whose batch is left free, as every Keras model's is: "'tf.TensorListReserve' op
requires element_shape to be static during TF Lite transformation pass", with the default
builtin ops. The same layer with a fixed batch, or unrolled, converts.

Standalone: needs tensorflow (with Keras 3). It builds Input((1, 1)) > LSTM(1) and converts
it with tf.lite.TFLiteConverter.from_keras_model, float32, no other setting. The last line says
REPRODUCED (exit 1: the TensorListReserve refusal), FIXED (exit 0: converted), DIFFERENT
(exit 2: another refusal) or CANNOT RUN (exit 3).
"""


import keras
import tensorflow as tf
from skeleton.verdict import say

inputs = keras.Input((1, 1))
model = keras.Model(inputs, keras.layers.LSTM(1)(inputs))
try:
    tf.lite.TFLiteConverter.from_keras_model(model).convert()
except Exception as exc:  # noqa: BLE001
    if "TensorListReserve' op requires element_shape to be static" in str(exc):
        say("REPRODUCED", "TFLiteConverter refused the LSTM (TensorListReserve)")
    say("DIFFERENT", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
say("FIXED", "the LSTM converted")
