# By hand: it compares Keras on two backends, each in its own process (Keras fixes its backend at
# import); keras-torch is no stage a generated script can call.
"""Keras on its PyTorch backend computes AveragePooling1D(padding="same") differently from
Keras on TensorFlow when the total padding is odd (keras-team/keras#18452).

Standalone: needs numpy, keras, tensorflow and torch. The same layer (it has no weights) runs
on both backends, each in its own process, since Keras fixes its backend at import; the
TensorFlow backend's output is the expected one (Keras documents "same" padding as
TensorFlow computes it). The last line says REPRODUCED (exit 1), FIXED (exit 0),
DIFFERENT (exit 2: it fails otherwise: Keras on torch raises, or the shapes differ) or CANNOT
RUN (exit 3: this machine cannot run it, e.g. Keras does not import on one of the backends).
"""

import json
import os
import subprocess
import sys
import traceback

import numpy as np
from skeleton.guard import CANNOT_RUN, cannot_run, guarded, step
from skeleton.verdict import KNOWN_ISSUE, say

BACKEND = os.environ.get("REPRO_KERAS_BACKEND", "tensorflow")
os.environ["KERAS_BACKEND"] = BACKEND


LAYER = {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}
SHAPE = (2, 3, 4)  # (batch, channels, steps): total padding (2 - 1) * 2 + 3 - 4 = 1, odd
ATOL = RTOL = 1e-5


def inputs() -> np.ndarray:
    return np.random.default_rng(738).standard_normal(SHAPE).astype(np.float32)


def pooled() -> np.ndarray:
    """The layer's output on this process's backend."""
    import keras

    assert keras.backend.backend() == BACKEND, keras.backend.backend()
    layer = keras.layers.AveragePooling1D(**LAYER)
    return np.asarray(keras.ops.convert_to_numpy(layer(inputs())))


class CannotRunHere(Exception):
    """Keras cannot run on a backend here (its framework does not import): no verdict."""


def on_backend(backend: str) -> np.ndarray:
    """The layer's output from a fresh process with Keras on ``backend``."""
    done = subprocess.run([sys.executable, __file__], capture_output=True, text=True,
                          env={**os.environ, "REPRO_KERAS_BACKEND": backend,
                               "REPRO_CHILD": "1"})
    if done.returncode == CANNOT_RUN:
        said = done.stdout.strip().splitlines()
        raise CannotRunHere(f"Keras on {backend}: {said[-1] if said else done.stderr[-300:]}")
    if done.returncode != 0:
        raise RuntimeError(f"Keras on {backend} failed:\n{done.stderr[-3000:]}")
    return np.asarray(json.loads(done.stdout.strip().splitlines()[-1]), np.float32)


def child() -> int:
    """This process's backend's output, as JSON, for the parent process."""
    step(f"importing Keras on {BACKEND}")
    try:
        import keras  # noqa: F401  (on REPRO_KERAS_BACKEND: its framework must import)
    except ImportError as exc:
        return cannot_run(exc)
    try:
        print(json.dumps(pooled().tolist()))
    except Exception:  # noqa: BLE001  (the layer's failure: the parent's DIFFERENT)
        traceback.print_exc()
        return 2
    return 0


def show(name: str, value: np.ndarray) -> None:
    print(f"{name}: shape {value.shape} {value.dtype}\n  "
          + np.array2string(value, precision=6).replace("\n", "\n  "))


def main() -> int:
    import keras

    print(f"{KNOWN_ISSUE}: keras.layers.AveragePooling1D({LAYER}) on {SHAPE}, keras "
          f"{keras.__version__}")
    x = inputs()
    show("input", x)
    expected = pooled()
    step("running Keras on torch")
    try:
        actual = on_backend("torch")
    except CannotRunHere as exc:
        return cannot_run(exc)
    except RuntimeError as exc:
        print(f"fails: {exc}")
        say("DIFFERENT", f"it fails (Keras on torch raised), but not as known issue "
                         f"{KNOWN_ISSUE} says (outputs that differ)")
    show("expected (Keras on TensorFlow)", expected)
    show("actual (Keras on torch)", actual)
    if actual.shape != expected.shape:
        say("DIFFERENT", f"it fails (shapes {actual.shape} != {expected.shape}, expected), but "
                         f"not as known issue {KNOWN_ISSUE} says (values that differ)")
    error = np.abs(actual - expected)
    beyond = error > ATOL + RTOL * np.abs(expected)
    if not beyond.any():
        say("FIXED", "does not reproduce")
    worst = np.unravel_index(int(error.argmax()), error.shape)
    print(f"max_abs={error.max():.6g} at {tuple(int(i) for i in worst)} (got "
          f"{actual[worst]:.6g}, expected {expected[worst]:.6g}); {int(beyond.sum())} / "
          f"{error.size} elements beyond atol={ATOL} + rtol={RTOL} * |expected|")
    say("REPRODUCED", "numeric_mismatch")


if __name__ == "__main__":
    if os.environ.get("REPRO_CHILD"):
        sys.exit(child())
    step("running the case")
    sys.exit(guarded(main))
