# By hand: Keras' own output is wrong, and a generated script takes it as the expected one (the
# export finds the source's own leg failing before any converter); this computes the expected
# output by hand, the layer without its bias plus the bias along the channel axis.
"""Keras 3 on TensorFlow adds a channels_first convolution's bias along the last axis when the
output's last size equals the number of filters: the layer reshapes the bias to (1, filters,
1, ...) and calls keras.ops.add, whose TensorFlow version (keras/src/backend/tensorflow/numpy.py
add) turns it into tf.nn.bias_add(data_format='NHWC') whenever x1.shape[-1] equals the bias
length.

Standalone: needs numpy, keras and tensorflow, no converter. A 1x1 Conv2D with 2 filters, in
channels_first, on a (1, 1, 1, 2) input (output (1, 2, 1, 2): the last size is the filters).
The expected output is the same layer without its bias, plus the bias added by hand along the
channel axis, y[:, f] = conv[:, f] + b[f]; the actual one is the layer's. TensorFlow without
oneDNN (TF_ENABLE_ONEDNN_OPTS=0, or a CPU without AVX-512) has no channels_first convolution
on the CPU: the layers are then compiled with XLA, whose CPU backend has one; the bias is
added by the same Keras graph either way. The last line says REPRODUCED (exit 1), FIXED
(exit 0), DIFFERENT (exit 2: it fails otherwise) or CANNOT RUN (exit 3: this machine cannot
run it).
"""

import sys

import numpy as np
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say

SHAPE = (1, 1, 1, 2)  # (batch, channels, height, width): width 2 = the filters
FILTERS = 2
ATOL = RTOL = 1e-5


def call(layer, data: np.ndarray) -> np.ndarray:
    """The layer's output: eagerly, or compiled with XLA where TensorFlow's CPU has no eager
    kernel for channels_first (without oneDNN it refuses NCHW)."""
    import tensorflow as tf

    try:
        return np.asarray(layer(data))
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as exc:
        if "NHWC" not in str(exc):
            raise
    return np.asarray(tf.function(layer, jit_compile=True)(tf.constant(data)))


def main() -> int:
    import keras
    import tensorflow as tf

    print(f"{KNOWN_ISSUE}: keras.layers.Conv2D({FILTERS}, 1, data_format='channels_first') on "
          f"{SHAPE}; keras {keras.__version__}, tensorflow {tf.__version__}")
    rng = np.random.default_rng(0)
    data = rng.standard_normal(SHAPE).astype(np.float32)
    kernel = rng.standard_normal((1, 1, SHAPE[1], FILTERS)).astype(np.float32)
    bias = np.array([1.0, -1.0], dtype=np.float32)
    biased = keras.layers.Conv2D(FILTERS, 1, data_format="channels_first")
    bare = keras.layers.Conv2D(FILTERS, 1, data_format="channels_first", use_bias=False)
    biased.build(SHAPE)
    bare.build(SHAPE)
    biased.set_weights([kernel, bias])
    bare.set_weights([kernel])
    convolved = call(bare, data)
    expected = convolved + bias[None, :, None, None]
    actual = call(biased, data)
    print(f"expected (the bias along the channels): {expected.ravel()}")
    print(f"actual (the layer): {actual.ravel()}")
    if np.allclose(actual, expected, atol=ATOL, rtol=RTOL):
        say("FIXED", "does not reproduce")
    along_width = convolved + bias[None, None, None, :]
    if np.allclose(actual, along_width, atol=ATOL, rtol=RTOL):
        say("REPRODUCED", "numeric_mismatch: the bias was added "
                          "along the last (width) axis, not the channels")
    say("DIFFERENT", f"the output differs, but not by the bias along the width known issue "
                     f"{KNOWN_ISSUE} says")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
