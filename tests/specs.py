"""Layer cases the tests write by hand, with every attribute a drawn case carries spelled out
(a case's id is computed from its attributes, so a hand-written case names them all)."""

from __future__ import annotations

from harness.core.spec import LayerSpec

CONV2D_DEFAULTS = {"strides": [1, 1], "padding": "valid", "dilation_rate": [1, 1], "groups": 1,
                   "use_bias": True, "activation": "linear", "data_format": "channels_last"}


def conv2d(input_shape: tuple[int, ...], *, seed: int, **attrs) -> LayerSpec:
    """A Conv2D case on one input: Keras' defaults, then ``attrs`` (``filters`` and
    ``kernel_size`` at least)."""
    return LayerSpec("Conv2D", {**CONV2D_DEFAULTS, **attrs}, (tuple(input_shape),), seed=seed)
