"""The comparator: shape and dtype, then NaN/Inf masks, then values under a tolerance.

Pure NumPy, so that it runs wherever a leg runs. ``compare`` never raises on a mismatch;
it returns a ``Comparison`` carrying the verdict, the category of a failure and metrics that
say by how much and where, in the spirit of ``torch.testing.assert_close``.

Only a float tensor is compared under the tolerance. Every other output is compared
exactly, and its metrics name how (``metrics["comparison"]``, e.g. ``exact (string)``): an
integer or boolean tensor (a class label, an index), a string tensor, and an ONNX sequence
(a list) or map (a dict, such as ZipMap's list of dicts) by its structure: lengths and keys
exactly, each element by its own rule, so that a float inside a map is judged as the same
float in a tensor would be. A mismatch says how many elements differ and the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
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
    actual, expected = _unboxed(actual), _unboxed(expected)
    if is_structure(actual) or is_structure(expected):
        return _compare_structures(actual, expected, tolerance, check_dtype)
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    exact = _exact_kind(actual, expected)
    metrics: dict[str, Any] = {
        "shape": list(actual.shape),
        "expected_shape": list(expected.shape),
        "dtype": value_kind(actual),
        "expected_dtype": value_kind(expected),
        "atol": 0.0 if exact else tolerance.atol,
        "rtol": 0.0 if exact else tolerance.rtol,
    }
    if exact:
        metrics["comparison"] = f"{EXACT} ({exact})"
    if actual.shape != expected.shape:
        return Comparison(
            False,
            "shape_mismatch",
            f"The shapes do not match: {tuple(actual.shape)} != {tuple(expected.shape)} (expected).",
            metrics,
        )
    if check_dtype and metrics["dtype"] != metrics["expected_dtype"]:
        return Comparison(
            False,
            "dtype_mismatch",
            f"The dtypes do not match: {metrics['dtype']} != {metrics['expected_dtype']} "
            f"(expected).",
            metrics,
        )
    if exact:
        return _compare_exactly(actual, expected, metrics)
    return _within_tolerance(actual, expected, tolerance, metrics)


def _within_tolerance(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance,
                      metrics: dict[str, Any]) -> Comparison:
    if _identical_and_finite(actual, expected, tolerance):
        return _identical(actual.shape, int(actual.size), metrics)
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
            f"{nonfinite_mismatch_text(a_nan | a_inf, e_nan | e_inf, total)}; NaN/Inf "
            f"positions differ at {int(mask_mismatch.sum())} / {total} elements; "
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
        slack = abs_err - tolerance.rtol * magnitude  # 0 * inf where the reference is Inf
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
            required_atol=float(max(0.0, np.max(slack))),
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


def _identical_and_finite(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> bool:
    """Most legs output exactly the reference (an ONNX model run by onnxruntime and by
    onnx2torch's module): two passes over the arrays settle what would take twenty."""
    return (actual.dtype == expected.dtype and actual.dtype.kind == "f"
            and math.isfinite(tolerance.atol) and math.isfinite(tolerance.rtol)
            and bool(np.array_equal(actual, expected)) and bool(np.isfinite(expected).all()))


def _identical(shape: tuple[int, ...], total: int, metrics: dict[str, Any]) -> Comparison:
    """The metrics ``_within_tolerance`` computes for identical finite tensors (a -0.0
    against a 0.0 included: no error, no ULP between them)."""
    first = _index(0, shape) if total else []
    metrics["nonfinite"] = {"expected_nan": 0, "actual_nan": 0, "expected_inf": 0,
                            "actual_inf": 0, "mask_mismatch": 0}
    metrics.update(total=total, max_abs=0.0, max_abs_index=first, max_rel=0.0,
                   max_rel_index=list(first), required_atol=0.0, required_rtol=0.0,
                   max_ulp=0.0, mismatched=0, mismatch_fraction=0.0,
                   histogram={"edges": [], "counts": [], "exact": total})
    return Comparison(True, None, "", metrics)


def nonfinite_mismatch_text(actual_bad: np.ndarray, expected_bad: np.ndarray,
                            total: int) -> str:
    """Which side holds the NaN or Inf the other lacks, in words: a leg's NaN where the
    reference is finite is the loudest sign of a broken conversion, and is named so."""
    made = int((actual_bad & ~expected_bad).sum())
    lost = int((expected_bad & ~actual_bad).sum())
    parts = []
    if made:
        parts.append(f"NaN/Inf where the reference has none ({made} / {total} elements, "
                     f"{100.0 * made / total:.3g}%)")
    if lost:
        parts.append(f"finite values where the reference has NaN/Inf ({lost} / {total} "
                     f"elements)")
    return "; ".join(parts) or "NaN and Inf of opposite kinds or signs"


def nonfinite_count(value: Any) -> tuple[int, int, int]:
    """(NaN, Inf, elements) of a float tensor; (0, 0, n) for any other output."""
    value = _unboxed(value)
    if not is_float_tensor(value):
        return 0, 0, int(np.size(value)) if not is_structure(value) else 0
    return int(np.isnan(value).sum()), int(np.isinf(value).sum()), int(value.size)


# -- what is compared exactly ---------------------------------------------------------------

EXACT = "exact"
# A value named in a mismatch (a class label, a map's key) is cut to this many characters.
SHOWN_CHARS = 60


def is_structure(value: Any) -> bool:
    """An ONNX sequence (a list or tuple of tensors, maps or strings) or map (a dict); a
    plain list of numbers is a tensor, as it always was."""
    if isinstance(value, dict):
        return True
    return isinstance(value, (list, tuple)) and any(
        isinstance(item, (np.ndarray, dict, list, tuple, str, bytes)) for item in value)


def is_float_tensor(value: Any) -> bool:
    """A tensor compared under a tolerance: floats (complex included), nothing else."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "fc"


def value_kind(value: Any) -> str:
    """An output's kind in words: a tensor's dtype (``float32``, ``int64``, ``bool``),
    ``string``, ``bytes``, or a structure (``sequence of maps``, ``map``)."""
    value = _unboxed(value)
    if is_structure(value):
        return _structure_name(value)
    array = np.asarray(value)
    if array.dtype.kind in "UO":
        return "string"
    if array.dtype.kind == "S":
        return "bytes"
    return str(array.dtype)


def _unboxed(value: Any) -> Any:
    """An object array of anything but strings (``np.asarray`` of ZipMap's list of dicts) as
    the nested lists it holds."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "O" and not all(
            isinstance(item, str) for item in value.flat):
        return value.tolist()
    return value


def _exact_kind(actual: np.ndarray, expected: np.ndarray) -> str | None:
    """What an exact comparison of these tensors compares (``int64``, ``string``), or None
    where the reference is a float tensor and the leg's is a number: a tolerance decides."""
    if expected.dtype.kind in "fc" and actual.dtype.kind in "fciub":
        return None
    return value_kind(expected)


def _shown(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _compare_exactly(actual: np.ndarray, expected: np.ndarray,
                     metrics: dict[str, Any]) -> Comparison:
    """Equal element by element. An integer or boolean tensor keeps the numeric metrics
    (how far off an index is); its verdict is still equality, never a tolerance."""
    numeric = actual.dtype.kind in "iub" and expected.dtype.kind in "iub"
    if numeric:
        rule = Tolerance(0.0, 0.0, metrics["comparison"])
        metrics = _within_tolerance(actual, expected, rule, metrics).metrics
        differ = np.asarray(actual != expected, dtype=bool)
    else:
        differ = ~np.asarray(actual == expected, dtype=bool)
    total = int(differ.size)
    bad = int(differ.sum())
    metrics.update(total=total, mismatched=bad, mismatch_fraction=bad / total if total else 0.0)
    if not bad:
        return Comparison(True, None, "", metrics)
    first = tuple(_index(int(np.flatnonzero(differ)[0]), differ.shape))
    metrics["first_mismatch"] = {"index": list(first), "actual": _shown(actual[first]),
                                 "expected": _shown(expected[first])}
    message = (f"Values differ (compared {metrics['comparison']}): {bad} / {total} elements "
               f"({100.0 * bad / total:.1f}%); first at index {first}: "
               f"{metrics['first_mismatch']['actual']} vs "
               f"{metrics['first_mismatch']['expected']} (expected).")
    return Comparison(False, "numeric_mismatch" if numeric else "value_mismatch", message,
                      metrics)


# -- sequences and maps ----------------------------------------------------------------------

def _structure_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    inner = {"maps" if isinstance(item, dict) else "sequences" if is_structure(item)
             else "tensors" for item in value}
    return f"sequence of {inner.pop()}" if len(inner) == 1 else "sequence"


def _structure_shape(value: Any) -> list[int]:
    return [len(value)] if is_structure(value) else list(np.shape(value))


def _path_text(path: tuple) -> str:
    return "".join(f"[{key!r}]" for key in path) or "the output"


def _elements(count: int) -> str:
    return f"{count} element{'' if count == 1 else 's'}"


def _differs(category: str, message: str) -> Comparison:
    return Comparison(False, category, message, {"total": 1, "mismatched": 1})


def _walk(actual: Any, expected: Any, path: tuple, tolerance: Tolerance, check_dtype: bool,
          found: list[tuple[tuple, Comparison]]) -> None:
    """Every leaf compared by its own rule, and every difference of structure, in order."""
    actual, expected = _unboxed(actual), _unboxed(expected)
    # An empty list beside a structure is an empty sequence, not an empty tensor.
    actual_is, expected_is = (is_structure(x) or (isinstance(x, (list, tuple)) and is_structure(y))
                              for x, y in ((actual, expected), (expected, actual)))
    if actual_is or expected_is:
        if not (actual_is and expected_is) or isinstance(actual, dict) != isinstance(expected,
                                                                                    dict):
            found.append((path, _differs("dtype_mismatch", f"a {value_kind(actual)} where the "
                                                           f"reference has a "
                                                           f"{value_kind(expected)}")))
            return
        if isinstance(expected, dict):
            missing = [k for k in expected if k not in actual]
            extra = [k for k in actual if k not in expected]
            if missing or extra:
                found.append((path, _differs("value_mismatch", "keys differ: " + "; ".join(
                    part for part in (f"missing {_shown(missing)}" if missing else "",
                                      f"not in the reference {_shown(extra)}" if extra else "")
                    if part))))
            for key in expected:
                if key in actual:
                    _walk(actual[key], expected[key], (*path, key), tolerance, check_dtype,
                          found)
            return
        if len(actual) != len(expected):
            found.append((path, _differs("shape_mismatch", f"{_elements(len(actual))} where "
                                                           f"the reference has "
                                                           f"{len(expected)}")))
            return
        for n, (one, other) in enumerate(zip(actual, expected)):
            _walk(one, other, (*path, n), tolerance, check_dtype, found)
        return
    found.append((path, compare(actual, expected, tolerance, check_dtype=check_dtype)))


def _first_difference(path: tuple, comparison: Comparison) -> str:
    """Where a failing leaf or structure differs first, and how, in one line."""
    where = _path_text(path)
    first = comparison.metrics.get("first_mismatch")
    if first:
        index = f" index {tuple(first['index'])}" if first["index"] else ""
        return f"{where}{index}: {first['actual']} vs {first['expected']} (expected)"
    if comparison.category == "numeric_mismatch" and "max_abs" in comparison.metrics:
        index = comparison.metrics["max_abs_index"]
        return (f"{where}{f' index {tuple(index)}' if index else ''}: off by "
                f"{comparison.metrics['max_abs']:.6g}, beyond the tolerance")
    return f"{where}: {comparison.message.splitlines()[0]}"


def _compare_structures(actual: Any, expected: Any, tolerance: Tolerance,
                        check_dtype: bool) -> Comparison:
    """An ONNX sequence or map: its structure exactly, each leaf by its own rule."""
    found: list[tuple[tuple, Comparison]] = []
    _walk(actual, expected, (), tolerance, check_dtype, found)
    floats = [c for _, c in found if "max_abs" in c.metrics and "comparison" not in c.metrics]
    comparison = (f"{EXACT} ({value_kind(expected)}"
                  + ("; float values within tolerance" if floats else "") + ")")
    total = sum(c.metrics.get("total", 1) for _, c in found)
    bad = sum(c.metrics.get("mismatched", 1) if not c.passed else 0 for _, c in found)
    metrics: dict[str, Any] = {
        "shape": _structure_shape(actual), "expected_shape": _structure_shape(expected),
        "dtype": value_kind(actual), "expected_dtype": value_kind(expected),
        "comparison": comparison, "total": total, "mismatched": bad,
        "mismatch_fraction": bad / total if total else 0.0,
    }
    if floats:
        metrics["values_max_abs"] = max(c.metrics["max_abs"] for c in floats)
    failing = [(path, c) for path, c in found if not c.passed]
    if not failing:
        return Comparison(True, None, "", metrics)
    path, first = failing[0]
    metrics["first_mismatch"] = {"at": _first_difference(path, first)}
    counted = "" if total == len(failing) and "shape" not in first.metrics else (
        f" {bad} / {total} elements differ;")
    message = (f"Values differ (compared {comparison}):{counted} first at "
               f"{metrics['first_mismatch']['at']}.")
    return Comparison(False, first.category, message, metrics)


def compare_outputs(outputs, reference, tolerance: Tolerance) -> list[Comparison]:
    """Every output of a leg against the reference's; a different count is a shape mismatch.
    Where the reference holds sequences and the leg returned tensors alone, as a module or
    an export flattens them (``as_returned``), its tensors are compared in that order."""
    outputs, reference = as_returned(outputs, reference)
    if len(outputs) != len(reference):
        return [Comparison(
            False, "shape_mismatch",
            f"the leg produced {len(outputs)} outputs, the source {len(reference)}",
            {"outputs": len(outputs), "expected_outputs": len(reference)},
        )]
    return [compare(a, e, tolerance) for a, e in zip(outputs, reference)]


def as_returned(outputs: list, reference: list) -> tuple[list, list]:
    """The leg's outputs and the reference's, matched where the reference holds ONNX
    sequences of tensors and the leg returned tensors alone. A module's one output is what it
    returns, so a converted graph whose only output is a sequence returns a list, which
    reads as so many outputs: they are that sequence. And torch.onnx.export writes each
    tensor of a returned list as an output of its own: where the leg's count is the count of
    the reference's tensors with its sequences flattened, it is compared with those."""
    if not any(_tensor_sequence(r) for r in reference) \
            or any(isinstance(o, (list, tuple, dict)) for o in outputs):
        return outputs, reference
    if len(reference) == 1:
        return [list(outputs)], reference
    flattened = [t for r in reference for t in (r if _tensor_sequence(r) else [r])]
    if len(outputs) == len(flattened):
        return outputs, flattened
    return outputs, reference


def _tensor_sequence(value: Any) -> bool:
    """An ONNX sequence of tensors as onnxruntime hands it over (a list; maybe empty)."""
    return isinstance(value, list) and all(isinstance(item, np.ndarray) for item in value)


OUTPUT_PREFIX = "output [{}] of {}: "


def worst_comparison(comparisons: list[Comparison]) -> Comparison:
    """The first failing comparison, or the widest pass. Where there are several outputs, a
    failure's message names the one it is about, counted from 0 as the report's outputs
    table counts them (``output [1] of 2: ...``): that the outputs before it agree is part
    of what a failure says (TopK's values agree where only its indices of ties differ)."""
    for index, comparison in enumerate(comparisons):
        if not comparison.passed:
            if len(comparisons) == 1:
                return comparison
            prefix = OUTPUT_PREFIX.format(index, len(comparisons))
            return replace(comparison, message=prefix + comparison.message)
    return max(comparisons, key=lambda c: c.metrics.get("max_abs", 0.0))


def worst_of(outputs, reference, tolerance: Tolerance) -> Comparison:
    """The verdict of a whole set of outputs: the first failing output, or the widest pass."""
    return worst_comparison(compare_outputs(outputs, reference, tolerance))
