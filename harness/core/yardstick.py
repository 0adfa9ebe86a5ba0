"""The float64 yardstick: the source's own rounding error, against which a leg is judged.

The reference of a float32 case is computed a second time in float64 (same layer, same
weights, same inputs); ``|y32 - y64|`` is what the source itself commits (its
``source_error``), ``|leg - y64|`` what the leg commits (its ``leg_error``). A leg that
fails its tolerance only by numbers still passes when it is no further from the float64
truth than ``K`` times the source itself, or when its error is below an absolute ``FLOOR``
(see docs/tolerances.md). A crash, a shape or dtype mismatch or a NaN where the source has
none is never rescued.

Source-neutral: each source computes its own float64 reading (the Keras source's in
``harness.sources.keras.yardstick``, a user's Keras file's in ``harness.runtimes.keras``) and
says here why it has none (``note_missing``); the pipeline measures and rescues with it.
"""

from __future__ import annotations

from collections import OrderedDict
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
    """Why this case has no float64 reading (a source's reading, such as
    ``harness.sources.keras.yardstick.keras_reading`` or
    ``harness.runtimes.keras.keras_model_reading``, returned None), if it was read in this
    process."""
    return _MISSING.get(spec.case_id)


def note_missing(spec, why: str) -> None:
    """Records why the case has no yardstick, for its legs' records (``missing_reason``)."""
    _MISSING[spec.case_id] = why
    while len(_MISSING) > _MISSING_KEPT:
        _MISSING.popitem(last=False)


def checked(outputs, what: str) -> list[np.ndarray]:
    """The float64 outputs, or ValueError where they are not a float64 reading."""
    narrow = sorted({str(np.asarray(y).dtype) for y in outputs} - {"float64"})
    if narrow:
        # A layer that stays float32 when built in float64 reads the float32 computation
        # again: no yardstick. (One that computes in float32 inside and casts back cannot be
        # told apart: TensorFlow's ResizeBicubic. Its source_error is 0, so only the floor
        # can rescue one of its legs: never a false pass, at worst no rescue.)
        raise ValueError(f"{what} returns {', '.join(narrow)} even when built in float64")
    outputs = [np.asarray(y, dtype=np.float64) for y in outputs]
    for y in outputs:
        if not np.isfinite(y).all():
            raise ValueError("non-finite float64 output")
    return outputs


def wide_inputs(inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [x.astype(np.float64) if x.dtype.kind == "f" else x for x in inputs]


def wide_weights(weights: list) -> list:
    return [np.asarray(w, dtype=np.float64) if np.asarray(w).dtype.kind == "f" else w
            for w in weights]


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
