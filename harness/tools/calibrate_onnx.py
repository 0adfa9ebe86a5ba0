"""Measures the ONNX source's float16 and float64 tolerances (docs/dtypes.md).

Every ONNX kind admitted along a dtype axis is drawn ``per_kind`` times
(``harness.core.strategies.sample``, derandomised: the simplest configuration first) and run down
the default paths. Per dtype it records:

- the converter legs against the reference (onnxruntime with optimisations off): the atol
  each leg needed at rtol R (``required_atol``) and its largest errors, as the Keras
  calibration (``harness.tools.measure_dtypes.calibrate``) reads them;
- the source's own comparison, onnxruntime against onnx's reference evaluator (the ``onnx``
  leg, which decides which of the two is the reference);
- for float16, both readings against the same model evaluated in float64 on the same
  float16 inputs and weights (``harness.sources.onnx.calibrate.exact_reading``): which of
  the two is nearer the exact result.

Legs that error or match a known issue are left out, as in the Keras calibration. Not
imported by the harness; run ``python -m harness.tools.calibrate_onnx 16 --dtype float16``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from harness.core import known_issues, registry
from harness.core.axes import admitted
from harness.core.frameworks import prepare_imports
from harness.core.source_registry import get as get_source
from harness.core.strategies import sample
from harness.core.tolerance import BUILTIN_DEFAULTS, ONNX_CONVERTER_LEGS, Rule, TolerancePolicy
from harness.run.pipeline import Harness
from harness.sources.onnx import read_evaluator, read_onnxruntime
from harness.sources.onnx.calibrate import exact_reading

ONNX = "onnx"
TOP = 12
ABOVE = (1e-3, 2e-3, 5e-3, 1e-2)


def _errors(actual: list[np.ndarray], expected: list[np.ndarray], rtol: float) -> dict[str, float]:
    """required_atol at ``rtol``, the largest absolute and relative errors over the outputs
    (finite elements of float outputs only)."""
    worst = {"required_atol": 0.0, "max_abs": 0.0, "max_rel": 0.0}
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape or e.dtype.kind != "f" or a.size == 0:
            continue
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        finite = np.isfinite(a64) & np.isfinite(e64)
        if not finite.any():
            continue
        err = np.abs(a64 - e64)[finite]
        magnitude = np.abs(e64)[finite]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(magnitude > 0, err / magnitude, 0.0)
        worst["required_atol"] = max(worst["required_atol"],
                                     float(np.max(err - rtol * magnitude).clip(0.0)))
        worst["max_abs"] = max(worst["max_abs"], float(err.max()))
        worst["max_rel"] = max(worst["max_rel"], float(rel.max()))
    return worst


class Worst:
    """Readings' errors, each with the case that gave it: the largest figures, and the
    readings that needed the most atol (a real bug stands out there, to be read by hand)."""

    def __init__(self) -> None:
        self.readings: list[tuple[dict[str, float], str]] = []

    def add(self, errors: dict[str, float], where: str) -> None:
        self.readings.append((errors, where))

    def row(self, top: int = TOP) -> dict[str, Any]:
        row: dict[str, Any] = {"count": len(self.readings)}
        for key in ("required_atol", "max_abs", "max_rel"):
            errors, where = max(self.readings, key=lambda r: r[0][key], default=({key: 0.0}, "-"))
            row[key] = f"{errors[key]:.3g} ({where})"
        for bound in ABOVE:
            row[f"needing atol > {bound:g}"] = sum(e["required_atol"] > bound
                                                   for e, _ in self.readings)
        ranked = sorted(self.readings, key=lambda r: -r[0]["required_atol"])[:top]
        row["top"] = [f"{e['required_atol']:.3g} abs {e['max_abs']:.3g} rel {e['max_rel']:.3g}"
                      f" {where}" for e, where in ranked]
        return row


def calibrate(per_kind: int, dtypes: tuple[str, ...] = ("float16", "float64"),
              rtol: float = 1e-3, kinds: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per dtype: the figures of the converter legs, of onnxruntime against the reference
    evaluator, and (float16) of each of the two against the float64 evaluation. Nothing is
    left out but legs that error or match a known issue: a case of a known deviation of
    onnxruntime or the evaluator shows among the top readings, to be told apart by hand."""
    issues = known_issues.load()
    # The converter legs at (0, R), over the built-in rules (a configured rule as specific
    # wins); the source's own comparison, which picks the reference (onnxruntime, or the
    # evaluator where the two disagree), at torch's defaults as the suite judges it.
    policy = TolerancePolicy({d: (0.0, rtol) for d in dtypes}, rules=[
        rule for d in dtypes for rule in (
            Rule(0.0, rtol, source=ONNX, leg=ONNX_CONVERTER_LEGS, dtype=d),
            Rule(*BUILTIN_DEFAULTS[d], source=ONNX, leg=ONNX, dtype=d))])
    harness_ = Harness(policy=policy, known_issues=issues, diagnose=False)
    source = get_source(ONNX)
    figures = {}
    for dtype in dtypes:
        legs, gap, runtime_exact, evaluator_exact = Worst(), Worst(), Worst(), Worst()
        cases = 0
        for name in kinds or registry.names(source=ONNX):
            if dtype not in admitted(registry.get(name, ONNX)).names:
                continue
            for spec in sample(name, per_kind, source=ONNX, axis=dtype):
                try:
                    reading = source.read(spec, policy=policy)
                except Exception:
                    continue
                cases += 1
                where = f"{name} {spec.case_id}"
                for leg in harness_.run(spec).legs:
                    if leg.leg != ONNX and leg.verdict in ("pass", "fail") and leg.metrics:
                        legs.add({key: float(leg.metrics.get(key) or 0.0)
                                  for key in ("required_atol", "max_abs", "max_rel")},
                                 f"{where} {leg.leg}")
                model, inputs = reading.artifact.model, reading.inputs
                runtime = read_onnxruntime(model, inputs, spec)
                evaluator = read_evaluator(model, inputs)
                if evaluator is None:
                    continue
                gap.add(_errors(runtime, evaluator, rtol), where)
                if dtype == "float16" and (exact := exact_reading(model, inputs)) is not None:
                    runtime_exact.add(_errors(runtime, exact, rtol), where)
                    evaluator_exact.add(_errors(evaluator, exact, rtol), where)
        figures[dtype] = {"cases": cases, "legs": legs.row(), "onnxruntime-evaluator": gap.row()}
        if dtype == "float16":
            figures[dtype]["onnxruntime-exact"] = runtime_exact.row()
            figures[dtype]["evaluator-exact"] = evaluator_exact.row()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.calibrate_onnx",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("per_kind", type=int, nargs="?", default=4)
    parser.add_argument("kinds", nargs="*", help="ONNX kinds (default: every admitted one)")
    parser.add_argument("--dtype", action="append", choices=["float16", "float64"],
                        help="a dtype to measure (default: both)")
    parser.add_argument("--rtol", type=float, default=1e-3)
    args = parser.parse_args(argv)
    prepare_imports()
    figures = calibrate(args.per_kind, tuple(args.dtype or ("float16", "float64")), args.rtol,
                        args.kinds or None)
    for dtype, row in figures.items():
        print(dtype, f"cases={row.pop('cases')} rtol={args.rtol:g}")
        for what, worst in row.items():
            top = worst.pop("top", [])
            print(f"  {what}: {worst}")
            for line in top:
                print(f"    {line}")


if __name__ == "__main__":
    main()
