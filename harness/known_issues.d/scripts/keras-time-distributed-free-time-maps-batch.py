# By hand: Keras' own tracing is at fault; a generated script shows it only through tf2onnx
# (keras>tf2onnx), importing a converter, where this shows it with Keras and TensorFlow alone,
# eager against traced.
"""Keras 3's TimeDistributed, traced with a free time axis, maps the wrapped layer over the
batch size instead of the steps (keras/src/layers/rnn/time_distributed.py: the vectorized_map
branch takes ops.arange(input_shape[0]), read before the batch and time axes are swapped).

Standalone: needs numpy, keras and tensorflow, no converter. The same model is called eagerly
(Keras knows the steps and takes its Python loop: the expected output) and through a
tf.function whose input signature leaves the batch and the steps free, as every converter
that traces a Keras model does (tf2onnx, a SavedModel). The last line says REPRODUCED (exit 1),
FIXED (exit 0), DIFFERENT (exit 2: it fails otherwise) or CANNOT RUN (exit 3: this machine
cannot run it).
"""

import sys

import numpy as np
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say

SHAPE = (1, 2, 1)  # (batch, steps, features): one batch, two steps
ATOL = RTOL = 1e-5


def main() -> int:
    import keras
    import tensorflow as tf

    print(f"{KNOWN_ISSUE}: keras.layers.TimeDistributed(Dense(1)) on {SHAPE} with the batch "
          f"and the steps free; keras {keras.__version__}, tensorflow {tf.__version__}")
    keras.utils.set_random_seed(0)
    x = keras.Input((None, SHAPE[-1]))
    model = keras.Model(x, keras.layers.TimeDistributed(keras.layers.Dense(1))(x))
    data = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    expected = np.asarray(model(data))
    traced = tf.function(lambda t: model(t),
                         input_signature=[tf.TensorSpec((None, None, SHAPE[-1]), tf.float32)])
    print(f"expected (eager Keras): shape {expected.shape}\n  {expected.ravel()}")
    try:
        actual = traced(tf.constant(data)).numpy()
    except Exception as exc:  # noqa: BLE001 (any failure of the traced model is a verdict)
        print(f"fails: the traced model raised {type(exc).__name__}: {str(exc)[:300]}")
        say("DIFFERENT", f"it fails, but not as known issue {KNOWN_ISSUE} says (an output "
                         f"with batch-many steps)")
    print(f"actual (the same model traced with tf.function): shape {actual.shape}\n  "
          f"{actual.ravel()}")
    if actual.shape == expected.shape:
        if np.allclose(actual, expected, atol=ATOL, rtol=RTOL):
            say("FIXED", "does not reproduce")
        say("DIFFERENT", f"the shapes agree but the values differ, not as known issue "
                         f"{KNOWN_ISSUE} says")
    if actual.shape == (SHAPE[0], SHAPE[0], *expected.shape[2:]):
        say("REPRODUCED", f"shape_mismatch: {actual.shape} != "
                          f"{expected.shape} (expected): {SHAPE[0]} step(s), the batch size, not "
                          f"{SHAPE[1]}")
    say("DIFFERENT", f"shape {actual.shape} != {expected.shape} (expected), but not the batch "
                     f"size's steps known issue {KNOWN_ISSUE} says")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
