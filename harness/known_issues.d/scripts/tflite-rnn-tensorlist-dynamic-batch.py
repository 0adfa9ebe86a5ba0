"""TFLiteConverter refuses a Keras recurrent layer (LSTM, GRU, SimpleRNN, and Bidirectional
around them) whose batch is left free, as every Keras model's is: "'tf.TensorListReserve' op
requires element_shape to be static during TF Lite transformation pass", with the default
builtin ops. The same layer with a fixed batch, or unrolled, converts.

Standalone: needs tensorflow (with Keras 3). It builds Input((1, 1)) > LSTM(1) and converts
it with tf.lite.TFLiteConverter.from_keras_model, float32, no other setting. The last line says
REPRODUCED (exit 1: the TensorListReserve refusal), FIXED (exit 0: converted), DIFFERENT
(exit 2: another refusal) or CANNOT RUN (exit 3).
"""

import os
import re
import sys
import traceback

CANNOT_RUN = 3  # exit code: this machine cannot run the case (no verdict); 1 is REPRODUCED only


def cannot_run(what: str, exc: BaseException) -> int:
    """The one line of a case this machine cannot run, after the traceback (on stderr)."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    first = next((line for line in lines if line), "")
    print(f"CANNOT RUN: {what} ({type(exc).__name__}: {first[:240]}) (exit {CANNOT_RUN})",
          flush=True)
    return CANNOT_RUN


def _uncaught(kind, exc, tb):  # an exception the script did not expect: an import, most often
    if not issubclass(kind, Exception):
        return sys.__excepthook__(kind, exc, tb)
    cannot_run("importing the frameworks", exc)
    sys.stderr.flush()
    os._exit(CANNOT_RUN)


sys.excepthook = _uncaught  # Python exits 1 on an uncaught exception, and 1 says REPRODUCED

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

KNOWN_ISSUE = "tflite-rnn-tensorlist-dynamic-batch"

inputs = keras.Input((1, 1))
model = keras.Model(inputs, keras.layers.LSTM(1)(inputs))
try:
    tf.lite.TFLiteConverter.from_keras_model(model).convert()
except Exception as exc:  # noqa: BLE001
    if "TensorListReserve' op requires element_shape to be static" in str(exc):
        print(f"REPRODUCED: known issue {KNOWN_ISSUE}: TFLiteConverter refused the LSTM (TensorListReserve) (exit 1)")
        sys.exit(1)
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} (exit 2)")
    sys.exit(2)
print(f"FIXED: known issue {KNOWN_ISSUE}: the LSTM converted (exit 0)")
sys.exit(0)
