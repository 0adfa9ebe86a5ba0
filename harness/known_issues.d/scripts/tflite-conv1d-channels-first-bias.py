"""TFLiteConverter refuses a Keras 1-D convolution in channels_first with a bias (Conv1D,
SeparableConv1D, DepthwiseConv1D; TensorFlow 2.21, default builtin ops, float32): with one
filter "'tfl.add' op result type '?x3x94...' not broadcast compatible with broadcasted
operands's shapes '?x1x3x1'" (a dimension of garbage), with more "'tf.Transpose' op x should be
of the same rank with y, got x of rank 3, and y of rank 4". The same layers without a bias,
in channels_last, and Conv2D in channels_first with a bias convert.

Standalone: needs tensorflow (with Keras 3). It converts Input((1, 3)) > Conv1D(f, 1,
data_format="channels_first", bias ones) for f = 1 and 2, and the same without a bias, with
tf.lite.TFLiteConverter.from_keras_model. The last line says REPRODUCED (exit 1: both biased
refused for those reasons, the unbiased converted), FIXED (exit 0: all converted), DIFFERENT
(exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "tflite-conv1d-channels-first-bias"
REASONS = ("not broadcast compatible with broadcasted operands",
           "'tf.Transpose' op x should be of the same rank with y")


def convert(filters: int, use_bias: bool) -> str:
    """'converted', or the converter's first error line."""
    inputs = keras.Input((1, 3))
    layer = keras.layers.Conv1D(filters, 1, data_format="channels_first", use_bias=use_bias,
                                bias_initializer="ones")
    model = keras.Model(inputs, layer(inputs))
    try:
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
        return "converted"
    except Exception as exc:  # noqa: BLE001
        lines = [line for line in str(exc).splitlines() if "error:" in line]
        return (lines[0] if lines else str(exc).splitlines()[0]).rsplit(")): ", 1)[-1][:200]


found = {(filters, bias): convert(filters, bias) for filters in (1, 2) for bias in (True, False)}
for (filters, bias), what in found.items():
    print(f"Conv1D({filters}, channels_first, use_bias={bias}): {what}")
biased = [found[(1, True)], found[(2, True)]]
if all(what == "converted" for what in found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: every Conv1D converted (exit 0)")
    sys.exit(0)
if all(any(reason in what for reason in REASONS) for what in biased) \
        and found[(1, False)] == found[(2, False)] == "converted":
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: the biased channels_first Conv1D was refused (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {found} (exit 2)")
sys.exit(2)
