"""The comparator: shape and dtype, then NaN/Inf masks, then values under a tolerance.

Pure NumPy, so that it runs wherever a leg runs. ``compare`` never raises on a mismatch;
it returns a ``Comparison`` carrying the verdict, the category of a failure and metrics that
say by how much and where, in the spirit of ``torch.testing.assert_close``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HISTOGRAM_BINS = 12


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    rule: str = "default"

    def to_json(self) -> dict[str, Any]:
        return {"atol": self.atol, "rtol": self.rtol, "rule": self.rule}


@dataclass
class Comparison:
    passed: bool
    category: str | None  # None when passed; else shape_mismatch, dtype_mismatch, ...
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)


def _ulp_distance(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest distance in units in the last place, computed on the expected dtype's grid."""
    if expected.dtype.kind != "f" or expected.size == 0:
        return 0.0
    int_type = {2: np.int16, 4: np.int32, 8: np.int64}[expected.dtype.itemsize]

    def ordered(x: np.ndarray) -> np.ndarray:
        bits = x.astype(expected.dtype).view(int_type).astype(np.int64)
        # Map the sign-magnitude float bit patterns onto a monotonic integer line.
        return np.where(bits < 0, np.int64(np.iinfo(int_type).min) - bits, bits)

    both_finite = np.isfinite(actual) & np.isfinite(expected)
    if not both_finite.any():
        return 0.0
    distance = np.abs(ordered(actual[both_finite]) - ordered(expected[both_finite]))
    return float(distance.max())


def _histogram(abs_err: np.ndarray) -> dict[str, list]:
    positive = abs_err[abs_err > 0]
    exact = int(abs_err.size - positive.size)
    if positive.size == 0:
        return {"edges": [], "counts": [], "exact": exact}
    logs = np.log10(positive)
    low, high = math.floor(float(logs.min())), math.ceil(float(logs.max()))
    high = max(high, low + 1)
    counts, edges = np.histogram(logs, bins=HISTOGRAM_BINS, range=(low, high))
    return {"edges": [round(float(e), 3) for e in edges], "counts": counts.tolist(), "exact": exact}


def _index(flat_index: int, shape: tuple[int, ...]) -> list[int]:
    return [int(i) for i in np.unravel_index(flat_index, shape)] if shape else []


def compare(actual: Any, expected: Any, tolerance: Tolerance, *, check_dtype: bool = True) -> Comparison:
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    metrics: dict[str, Any] = {
        "shape": list(actual.shape),
        "expected_shape": list(expected.shape),
        "dtype": str(actual.dtype),
        "expected_dtype": str(expected.dtype),
        "atol": tolerance.atol,
        "rtol": tolerance.rtol,
    }
    if actual.shape != expected.shape:
        return Comparison(
            False,
            "shape_mismatch",
            f"The shapes do not match: {tuple(actual.shape)} != {tuple(expected.shape)} (expected).",
            metrics,
        )
    if check_dtype and actual.dtype != expected.dtype:
        return Comparison(
            False,
            "dtype_mismatch",
            f"The dtypes do not match: {actual.dtype} != {expected.dtype} (expected).",
            metrics,
        )

    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    a_nan, e_nan = np.isnan(a), np.isnan(e)
    a_inf, e_inf = np.isinf(a), np.isinf(e)
    mask_mismatch = (a_nan != e_nan) | (a_inf != e_inf) | (a_inf & e_inf & (np.sign(a) != np.sign(e)))
    metrics["nonfinite"] = {
        "expected_nan": int(e_nan.sum()),
        "actual_nan": int(a_nan.sum()),
        "expected_inf": int(e_inf.sum()),
        "actual_inf": int(a_inf.sum()),
        "mask_mismatch": int(mask_mismatch.sum()),
    }
    total = int(a.size)
    metrics["total"] = total
    if mask_mismatch.any():
        first = _index(int(np.flatnonzero(mask_mismatch)[0]), a.shape)
        return Comparison(
            False,
            "nonfinite_mismatch",
            f"NaN/Inf positions differ at {int(mask_mismatch.sum())} / {total} elements; "
            f"first at index {tuple(first)}: {actual[tuple(first)]!r} vs "
            f"{expected[tuple(first)]!r} (expected).",
            metrics,
        )

    finite = np.isfinite(e)
    magnitude = np.abs(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        abs_err = np.where(finite, np.abs(a - e), 0.0)
        rel_err = np.where(finite & (magnitude > 0), abs_err / magnitude, 0.0)
        excess = abs_err - tolerance.atol
        required_rtol = np.where(magnitude > 0, excess / magnitude, np.where(excess > 0, np.inf, 0.0))
    bound = tolerance.atol + tolerance.rtol * magnitude
    mismatched = abs_err > bound
    n_bad = int(mismatched.sum())

    if total:
        i_abs = int(np.argmax(abs_err))
        i_rel = int(np.argmax(rel_err))
        metrics.update(
            max_abs=float(abs_err.flat[i_abs]),
            max_abs_index=_index(i_abs, a.shape),
            max_rel=float(rel_err.flat[i_rel]),
            max_rel_index=_index(i_rel, a.shape),
            required_atol=float(max(0.0, np.max(abs_err - tolerance.rtol * magnitude))),
            required_rtol=float(max(0.0, np.max(required_rtol))),
            max_ulp=_ulp_distance(actual, expected),
        )
    else:
        metrics.update(
            max_abs=0.0, max_abs_index=[], max_rel=0.0, max_rel_index=[],
            required_atol=0.0, required_rtol=0.0, max_ulp=0.0,
        )
    metrics.update(
        mismatched=n_bad,
        mismatch_fraction=(n_bad / total) if total else 0.0,
        histogram=_histogram(abs_err),
    )
    if n_bad == 0:
        return Comparison(True, None, "", metrics)

    message = (
        "Tensor-likes are not close!\n\n"
        f"Mismatched elements: {n_bad} / {total} ({100.0 * n_bad / total:.1f}%)\n"
        f"Greatest absolute difference: {metrics['max_abs']:.6g} at index "
        f"{tuple(metrics['max_abs_index'])} (up to {tolerance.atol:g} allowed)\n"
        f"Greatest relative difference: {metrics['max_rel']:.6g} at index "
        f"{tuple(metrics['max_rel_index'])} (up to {tolerance.rtol:g} allowed)\n"
        f"Greatest ULP distance: {metrics['max_ulp']:.0f}\n"
        f"Would pass with atol >= {metrics['required_atol']:.3g} (at rtol {tolerance.rtol:g}) "
        f"or rtol >= {metrics['required_rtol']:.3g} (at atol {tolerance.atol:g}); "
        f"tolerance rule: {tolerance.rule}"
    )
    return Comparison(False, "numeric_mismatch", message, metrics)


def compare_outputs(outputs, reference, tolerance: Tolerance) -> list[Comparison]:
    """Every output of a leg against the reference's; a different count is a shape mismatch."""
    if len(outputs) != len(reference):
        return [Comparison(
            False, "shape_mismatch",
            f"the leg produced {len(outputs)} outputs, the source {len(reference)}",
            {"outputs": len(outputs), "expected_outputs": len(reference)},
        )]
    return [compare(a, e, tolerance) for a, e in zip(outputs, reference)]


def worst_comparison(comparisons: list[Comparison]) -> Comparison:
    """The first failing comparison, or the widest pass."""
    failing = [c for c in comparisons if not c.passed]
    if failing:
        return failing[0]
    return max(comparisons, key=lambda c: c.metrics.get("max_abs", 0.0))


def worst_of(outputs, reference, tolerance: Tolerance) -> Comparison:
    """The verdict of a whole set of outputs: the first failing output, or the widest pass."""
    return worst_comparison(compare_outputs(outputs, reference, tolerance))
