"""TFLiteConverter refuses Keras' MaxPooling3D and AveragePooling3D with the default builtin
ops: "'tf.MaxPool3D' op is neither a custom op nor a flex op" (and tf.AvgPool3D): TFLite has
no builtin 3D pooling kernel; only the Select TF ops (flex) runtime runs them.

Standalone: needs tensorflow (with Keras 3). It converts Input((2, 2, 2, 1)) > MaxPooling3D(1)
and > AveragePooling3D(1) with tf.lite.TFLiteConverter.from_keras_model, float32. The last line
says REPRODUCED (exit 1: both refused for that reason), FIXED (exit 0: both converted),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "tflite-pool3d-no-builtin"

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
            print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {op}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} (exit 2)")
            sys.exit(2)
if refused == 2:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: TFLiteConverter refused both 3D poolings (exit 1)")
    sys.exit(1)
if refused == 0:
    print(f"FIXED: known issue {KNOWN_ISSUE}: the 3D poolings converted (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: only one 3D pooling refused (exit 2)")
sys.exit(2)
