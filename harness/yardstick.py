"""The float64 yardstick: the source's own rounding error, against which a leg is judged.

The reference of a float32 case is computed a second time in float64 (same layer, same
weights, same inputs); ``|y32 - y64|`` is what the source itself commits (its
``source_error``), ``|leg - y64|`` what the leg commits (its ``leg_error``). A leg that
fails its tolerance only by numbers still passes when it is no further from the float64
truth than ``K`` times the source itself, or when its error is below an absolute ``FLOOR``
(see docs/tolerances.md). A crash, a shape or dtype mismatch or a NaN where the source has
none is never rescued.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np

# A leg within K times the source's own float64 error passes. Measured over the layer suite
# and 13 keras.applications (docs/tolerances.md): correct legs sit at ratio <= 1.1 (layers) and
# <= 4.8 (applications); weights perturbed by 1e-3 or one dropped bias sit at >= 3000.
K = 10.0
# Below this absolute error (against float64) a leg passes whatever the source's error: a
# source that is exact in float32 (max pooling, a reshape: source_error 0) gives no scale.
FLOOR = 1e-6

# Why the last cases had no yardstick (case id -> reason), for the record.
_MISSING: OrderedDict[str, str] = OrderedDict()
_MISSING_KEPT = 512


def missing_reason(spec) -> str | None:
    """Why ``keras_reading`` returned None for this case, if it did in this process."""
    return _MISSING.get(spec.case_id)


def _missing(spec, why: str) -> None:
    _MISSING[spec.case_id] = why
    while len(_MISSING) > _MISSING_KEPT:
        _MISSING.popitem(last=False)


def keras_reading(spec, model, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The Keras model's outputs recomputed in float64; None where that cannot be done
    (``missing_reason`` says why): a float64 case (its reference is its own yardstick), a
    layer without a float64 kernel on this device, a model whose weights do not carry over.
    """
    if spec.dtype == "float64":
        _missing(spec, "the case computes in float64")
        return None
    try:
        return _float64_outputs(spec, model, inputs)
    except Exception as exc:  # e.g. an op with no float64 kernel on the CPU
        _missing(spec, f"no float64 reading: {type(exc).__name__}: {_first_line(exc)}")
        return None


def _first_line(exc: Exception) -> str:
    """The gist of a Keras/TensorFlow error: its first non-empty line, without terminal
    colour codes (Keras wraps the op's own message in a few lines of context)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception encountered")]
    return (useful or lines or [""])[0][:300]


def _float64_outputs(spec, model, inputs):
    from harness import registry
    from harness.dtypes import keras_policy
    from harness.keras_source import build_model, run_keras, twin_reference

    wide = replace(spec, dtype="float64")
    own_builder = registry.get(spec.kind, spec.source).build_model
    with keras_policy("float64"):
        if own_builder is not None:
            # A whole model: its weights come from the float32 model, so the drawing and
            # calibration build_model adds (seconds for an application) are skipped.
            model64 = own_builder(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                  "float64")
        else:
            model64 = build_model(wide)
        weights = model.get_weights()
        if len(weights) != len(model64.weights):
            raise ValueError(f"{len(weights)} weights in float32, {len(model64.weights)} "
                             "in float64")
        model64.set_weights([np.asarray(w, dtype=np.float64) if np.asarray(w).dtype.kind == "f"
                             else w for w in weights])
        wide_inputs = [x.astype(np.float64) if x.dtype.kind == "f" else x for x in inputs]
        # A channels_first convolution is read through its channels_last twin, as the
        # reference is (harness.keras_source.channels_last_twin).
        outputs = twin_reference(model64, wide, wide_inputs)
        if outputs is None:
            outputs = run_keras(model64, wide_inputs)
    narrow = sorted({str(np.asarray(y).dtype) for y in outputs} - {"float64"})
    if narrow:
        # A layer that stays float32 when built in float64 reads the float32 computation
        # again: no yardstick. (One that computes in float32 inside and casts back cannot be
        # told apart: TensorFlow's ResizeBicubic. Its source_error is 0, so only the floor
        # can rescue one of its legs: never a false pass, at worst no rescue.)
        raise ValueError(f"the layer returns {', '.join(narrow)} even when built in float64")
    outputs = [np.asarray(y, dtype=np.float64) for y in outputs]
    for y in outputs:
        if not np.isfinite(y).all():
            raise ValueError("non-finite float64 output")
    return outputs


def measure(outputs, reference, yardstick) -> dict[str, float] | None:
    """``source_error`` = max|reference - yardstick|, ``leg_error`` = max|leg - yardstick|
    over every output, and their ``ratio``; None where they cannot be compared (a different
    count or shape of outputs: the tolerance comparison reports it).

    ``ratio`` is ``leg_error / max(source_error, FLOOR / K)``: where the source is exact
    (source_error 0) the floor is the scale, so ``ratio <= K`` is exactly the rescue."""
    if len(outputs) != len(reference) or len(reference) != len(yardstick):
        return None
    source_error = leg_error = 0.0
    for leg, ref, wide in zip(outputs, reference, yardstick):
        leg, ref, wide = np.asarray(leg), np.asarray(ref), np.asarray(wide, dtype=np.float64)
        if not (leg.shape == ref.shape == wide.shape):
            return None
        if wide.size == 0:
            continue
        finite = np.isfinite(wide)
        source_error = max(source_error, _max_abs(ref, wide, finite))
        leg_error = max(leg_error, _max_abs(leg, wide, finite))
    ratio = leg_error / max(source_error, FLOOR / K)
    return {"source_error": source_error, "leg_error": leg_error, "ratio": ratio}


def _max_abs(values: np.ndarray, wide: np.ndarray, finite: np.ndarray) -> float:
    if values.dtype.kind not in "fiub":
        return float("inf")
    diff = np.abs(values.astype(np.float64) - wide)
    diff = np.where(finite, diff, 0.0)
    worst = float(diff.max())
    return worst if np.isfinite(worst) else float("inf")


def rescues(measured: dict[str, Any]) -> bool:
    """Whether a leg that failed its tolerance by numbers passes by the yardstick."""
    leg_error = measured["leg_error"]
    return leg_error <= FLOOR or leg_error <= K * measured["source_error"]


def rescue_note(measured: dict[str, Any]) -> str:
    return (f"outside its tolerance, but within the float64 yardstick: the leg is "
            f"{measured['leg_error']:.3g} from the float64 reference, the source itself "
            f"{measured['source_error']:.3g} (ratio {measured['ratio']:.3g} <= {K:g}, or "
            f"under {FLOOR:g})")
