"""The Keras source's float64 yardstick: a drawn case's model built again in float64 (same
layer, same weights, same inputs), against which its legs are judged
(``harness.core.yardstick``, docs/tolerances.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from harness.core import registry
from harness.core.yardstick import (
    checked,
    model_rng,
    note_missing,
    perturbed,
    wide_inputs,
    wide_weights,
    with_model,
)
from harness.runtimes.keras import first_line, keras_policy, run_keras
from harness.sources.keras.model import build_model, twin_reference


def keras_reading(spec, model, inputs: list[np.ndarray],
                  built: dict | None = None) -> list[np.ndarray] | None:
    """The Keras model's outputs recomputed in float64; None where that cannot be done
    (``harness.core.yardstick.missing_reason`` says why): a float64 case (its reference is its own yardstick), a
    layer without a float64 kernel on this device, a model whose weights do not carry over.

    ``built``, where given, keeps the float64 model for the case's other sizes: a drawn
    layer's model declares its free dimensions None (``build_model``), as the float32 model
    does, so one model reads every size.
    """
    if spec.dtype == "float64":
        note_missing(spec, "the case computes in float64")
        return None
    try:
        return _float64_outputs(spec, model, inputs, {} if built is None else built)
    except Exception as exc:  # e.g. an op with no float64 kernel on the CPU
        note_missing(spec, f"no float64 reading: {type(exc).__name__}: {first_line(exc)}")
        return None


def _float64_outputs(spec, model, inputs, built: dict):
    wide = replace(spec, dtype="float64")
    own_builder = registry.get(spec.kind, spec.source).build_model
    with keras_policy("float64"):
        if own_builder is not None:
            # A whole model: its weights come from the float32 model, so the drawing and
            # calibration build_model adds (seconds for an application) are skipped.
            model64 = own_builder(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                  "float64")
        else:
            if "model64" not in built:
                built["model64"] = build_model(wide)
            model64 = built["model64"]
        weights = model.get_weights()
        if len(weights) != len(model64.weights):
            raise ValueError(f"{len(weights)} weights in float32, {len(model64.weights)} "
                             "in float64")
        outputs = _read64(model64, wide, wide_weights(weights), wide_inputs(inputs))
        if not wants_error_model(spec):
            return checked(outputs, "the layer")
        rng = model_rng(spec)
        rounded = _read64(model64, wide, perturbed(weights, spec.dtype, rng),
                          perturbed(inputs, spec.dtype, rng))
    return with_model(checked(outputs, "the layer"), checked(rounded, "the error model"))


def _read64(model64, wide, weights, inputs64):
    model64.set_weights(weights)
    # A channels_first convolution is read through its channels_last twin, as the
    # reference is (harness.sources.keras.model.channels_last_twin).
    outputs = twin_reference(model64, wide, inputs64)
    return run_keras(model64, inputs64) if outputs is None else outputs


def wants_error_model(spec) -> bool:
    """Whole architectures and drawn models get the error model (harness.core.yardstick):
    through their depth, which kernels the source ran moves its own error severalfold
    (MobileNetV2 on one thread: 2.7e-4 with Eigen's convolutions, 1.4e-3 with oneDNN's). A
    single layer's rounding is a few units in the last place whatever the kernel, and its
    float64 reading costs a tenth of its case already."""
    kind = registry.get(spec.kind, spec.source)
    return bool(kind.tags & registry.WHOLE_MODELS) or kind.family == "models"
