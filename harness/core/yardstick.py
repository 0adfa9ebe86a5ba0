"""The float64 yardstick: the source's own rounding error, against which a leg is judged.

The reference of a float32 case is computed a second time in float64 (same layer, same
weights, same inputs); ``|y32 - y64|`` is what the source itself commits (its
``source_error``), ``|leg - y64|`` what the leg commits (its ``leg_error``). A leg that
fails its tolerance only by numbers still passes when it is no further from the float64
truth than ``K`` times the source itself, or when its error is below an absolute ``FLOOR``
(see docs/tolerances.md). A crash, a shape or dtype mismatch or a NaN where the source has
none is never rescued.

The source's own float32 error is only as portable as its kernels: TensorFlow's Eigen
convolutions (a CPU without oneDNN, or one thread) land closer to float64 than its oneDNN
ones, and a scale that rests on it alone fails correct legs there. So a source that can also
gives an **error model** that does not depend on any float32 kernel: its float64 reading
again with every weight and input moved by float32's unit roundoff, relatively
(``perturbed``), i.e. how far the model's own conditioning carries the rounding that storing
it in float32 commits. The scale is the larger of the two (``scale_of``). The model's reading
travels after the float64 outputs in the same list (``with_model``/``split``), so the stage
cache, the golden store and packed readings keep it as they keep the yardstick.

Source-neutral: each source computes its own float64 reading (the Keras source's in
``harness.sources.keras.yardstick``, a user's Keras file's in ``harness.runtimes.keras``) and
says here why it has none (``note_missing``); the pipeline measures and rescues with it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

# A leg within K times the scale (the source's own float64 error or the error model's, the
# larger) passes. Measured over the layer suite and 13 keras.applications (docs/tolerances.md):
# correct legs sit at ratio <= 1.1 (layers) and <= 4.8 (applications); weights perturbed by
# 1e-3 or one dropped bias sit at >= 3000. Without oneDNN, MobileNetV2's correct legs sit at 13
# against the source's error alone and at 2.4 against the scale (1.8 with oneDNN).
K = 10.0
# Below this absolute error (against float64) a leg passes whatever the source's error: a
# source that is exact in float32 (max pooling, a reshape: source_error 0) gives no scale.
FLOOR = 1e-6

# A float64 reading further from the float32 reference than this share of the outputs'
# largest magnitude is not the same computation (a Keras twin whose layer state its weights do
# not carry; an ONNX model the evaluator reads otherwise in float64): float32 rounding through
# 9 applications saved as files stays below 2e-4 of it (2e-2 in an EfficientNetB0 whose
# outputs reach 1e5); a twin that lost its Normalization's state is 1.0 away.
AGREEMENT = 0.1

# TF32 mode (--parity-tf32): cuBLAS and cuDNN round a float32 product's operands to TF32's
# 10-bit mantissa, unit roundoff 2**-11 against float32's 2**-24. The error model (weights and
# inputs moved by float32's roundoff) scales with it, so a TF32 leg is measured against the
# model's error times this ratio (docs/tolerances.md).
TF32_ROUNDOFF = 2.0 ** 13

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


class NotFloat64(ValueError):
    """The float64 reading is not one: its message says why, in a sentence for the record."""


def checked(outputs, what: str) -> list[np.ndarray]:
    """The float64 outputs, or NotFloat64 where they are not a float64 reading."""
    kinds = {str(np.asarray(y).dtype) for y in outputs}
    not_float = sorted(k for k in kinds if np.dtype(k).kind not in "fc")
    if not_float:
        raise NotFloat64(f"{what} has outputs that are not floats ({', '.join(not_float)}: a "
                         f"label, an index or a string), which a float64 reading does not "
                         f"widen")
    narrow = sorted(kinds - {"float64"})
    if narrow:
        # A layer that stays float32 when built in float64 reads the float32 computation
        # again: no yardstick. (One that computes in float32 inside and casts back cannot be
        # told apart: TensorFlow's ResizeBicubic. Its source_error is 0, so only the floor
        # can rescue one of its legs: never a false pass, at worst no rescue.)
        raise NotFloat64(f"{what} returns {', '.join(narrow)} even when built in float64")
    outputs = [np.asarray(y, dtype=np.float64) for y in outputs]
    for y in outputs:
        if not np.isfinite(y).all():
            raise NotFloat64(f"{what} computes NaN or Inf in float64")
    return outputs


def unavailable(framework: str, exc: BaseException) -> str:
    """Why a float64 reading through ``framework`` failed, as a sentence for the record: what
    parity found (``NotFloat64``), else what rebuilding the model in float64 runs into. An
    exception's own text (a TypeError deep inside a layer) tells a user nothing about why."""
    if isinstance(exc, NotFloat64):
        return f"no float64 reading through {framework}: {exc}"
    return (f"no float64 reading through {framework}: the model could not be rebuilt and run "
            f"with float64 layers (a layer without a float64 kernel on this machine, or one "
            f"whose configuration does not rebuild in float64); the tolerance alone judges")


def distance(outputs, reference) -> float:
    """max|reference - float64 reading| over the reading's largest magnitude, the worst over
    outputs (``AGREEMENT``); differences under FLOOR do not count."""
    if len(outputs) != len(reference):
        return float("inf")
    worst = 0.0
    for wide, narrow in zip(outputs, reference):
        narrow = np.asarray(narrow)
        if narrow.shape != wide.shape:
            return float("inf")
        if wide.size == 0 or narrow.dtype.kind not in "fiub":
            continue
        scale = float(np.abs(wide).max())
        error = float(np.abs(narrow.astype(np.float64) - wide).max())
        if error > FLOOR:
            worst = max(worst, error / scale if scale > 0 else float("inf"))
    return worst


def wide_inputs(inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [x.astype(np.float64) if x.dtype.kind == "f" else x for x in inputs]


def wide_weights(weights: list) -> list:
    return [np.asarray(w, dtype=np.float64) if np.asarray(w).dtype.kind == "f" else w
            for w in weights]


# Float formats' unit roundoff (half the distance from 1 to the next number): the relative
# size of the rounding that the error model applies to every weight and input.
UNIT_ROUNDOFF = {"float32": 2.0 ** -24, "float16": 2.0 ** -11, "mixed_float16": 2.0 ** -11,
                 "bfloat16": 2.0 ** -8, "mixed_bfloat16": 2.0 ** -8}


def perturbed(arrays, dtype: str, rng: np.random.Generator) -> list:
    """Float arrays each moved elementwise by a relative ``u * U(-1, 1)``, ``u`` the case
    dtype's unit roundoff (float32's for a dtype without one); other arrays as they are."""
    u = UNIT_ROUNDOFF.get(dtype, UNIT_ROUNDOFF["float32"])
    moved = []
    for array in arrays:
        array = np.asarray(array)
        if array.dtype.kind != "f":
            moved.append(array)
            continue
        wide = array.astype(np.float64)
        moved.append(wide * (1.0 + u * rng.uniform(-1.0, 1.0, wide.shape)))
    return moved


def model_rng(spec) -> np.random.Generator:
    """The error model's draw: from the case's seed, so a case's scale never changes."""
    return np.random.default_rng([int(spec.seed) & 0xFFFFFFFF, 0x59A8D])


def with_model(wide: list[np.ndarray], model: list[np.ndarray] | None) -> list[np.ndarray]:
    """A yardstick list: the float64 outputs, then (where made) the error model's outputs."""
    return [*wide, *(model or [])]


def split(yardstick, count: int) -> tuple[list, list | None]:
    """(the float64 outputs, the error model's outputs or None) of a yardstick list made for
    ``count`` outputs (``with_model``)."""
    yardstick = list(yardstick)
    if len(yardstick) == 2 * count and count:
        return yardstick[:count], yardstick[count:]
    return yardstick, None


def scale_of(measured: dict[str, Any], roundoff: float = 1.0) -> float:
    """What a leg's error is measured against: the source's own error or the error model's,
    whichever is larger. ``roundoff``: the leg's unit roundoff over float32's (TF32's
    ``TF32_ROUNDOFF``): the model's error, or the source's where there is no model, grows by it;
    the source's own kernels do not."""
    model = measured.get("model_error")
    if roundoff != 1.0 and model is None:
        return measured["source_error"] * roundoff
    return max(measured["source_error"], (model or 0.0) * roundoff)


def measure(outputs, reference, yardstick) -> dict[str, float] | None:
    """``source_error`` = max|reference - float64|, ``leg_error`` = max|leg - float64| over
    every output, where there is one ``model_error`` = max|error model - float64|, and the
    ``ratio``; None where they cannot be compared (a different count or shape of outputs: the
    tolerance comparison reports it).

    ``ratio`` is ``leg_error / max(scale, FLOOR / K)``, the scale the larger of the source's
    and the model's error (``scale_of``): where both are 0 the floor is the scale, so
    ``ratio <= K`` is exactly the rescue."""
    wide_outputs, model = split(yardstick, len(reference))
    if len(outputs) != len(reference) or len(reference) != len(wide_outputs):
        return None
    source_error = leg_error = model_error = 0.0
    for n, (leg, ref, wide) in enumerate(zip(outputs, reference, wide_outputs)):
        leg, ref, wide = np.asarray(leg), np.asarray(ref), np.asarray(wide, dtype=np.float64)
        if not (leg.shape == ref.shape == wide.shape):
            return None
        if wide.size == 0:
            continue
        finite = np.isfinite(wide)
        source_error = max(source_error, _max_abs(ref, wide, finite))
        leg_error = max(leg_error, _max_abs(leg, wide, finite))
        if model is not None and np.shape(model[n]) == wide.shape:
            model_error = max(model_error, _max_abs(np.asarray(model[n]), wide, finite))
    measured = {"source_error": source_error, "leg_error": leg_error}
    if model is not None:
        measured["model_error"] = model_error
    measured["ratio"] = leg_error / max(scale_of(measured), FLOOR / K)
    return measured


def _max_abs(values: np.ndarray, wide: np.ndarray, finite: np.ndarray) -> float:
    if values.dtype.kind not in "fiub":
        return float("inf")
    diff = np.abs(values.astype(np.float64) - wide)
    diff = np.where(finite, diff, 0.0)
    worst = float(diff.max())
    return worst if np.isfinite(worst) else float("inf")


def rescues(measured: dict[str, Any], roundoff: float = 1.0) -> bool:
    """Whether a leg that failed its tolerance by numbers passes by the yardstick (a leg that
    computes at a coarser unit roundoff: ``roundoff`` times float32's, ``scale_of``)."""
    leg_error = measured["leg_error"]
    return leg_error <= FLOOR * roundoff or leg_error <= K * scale_of(measured, roundoff)


def rescue_note(measured: dict[str, Any], roundoff: float = 1.0) -> str:
    model = measured.get("model_error")
    model_text = "" if model is None else f", float32 rounding of the model {model:.3g}"
    if roundoff != 1.0:
        return (f"outside its tolerance, but within the float64 yardstick at TF32's roundoff: "
                f"the leg is {measured['leg_error']:.3g} from the float64 reference, within "
                f"{K:g} x {scale_of(measured, roundoff):.3g} (the source's error "
                f"{measured['source_error']:.3g}{model_text}, scaled by {roundoff:g} for TF32)")
    return (f"outside its tolerance, but within the float64 yardstick: the leg is "
            f"{measured['leg_error']:.3g} from the float64 reference, the source itself "
            f"{measured['source_error']:.3g}{model_text} (ratio {measured['ratio']:.3g} <= "
            f"{K:g}, or under {FLOOR:g})")
