"""One row per leg: what a user acts on.

A leg's row joins its results at every size the case ran at into one verdict:

==============  ==================================================================
verdict         meaning
==============  ==================================================================
agrees          within tolerance at every size (a known issue that did not bite too)
differs         numbers (or shapes) differ beyond tolerance
unsupported     a stage or runtime has no counterpart for an op or layer of the model
error           a stage or runtime raised for another reason
not run         an earlier stage of its path failed
not applicable  a stage of its path cannot apply to the model (the reason is said);
                never counted as a disagreement
==============  ==================================================================

with the id of the known upstream bug it is, where it is one (harness/known_issues.toml),
and names where the leg diverged (the first diverging layer or node and the stage that
introduced it, or the op without a counterpart), the task-level agreement, and the known
pitfalls that bit (``harness.check.pitfalls``).

A row also names how each output was compared (``comparison``): ``tolerance`` for a float
tensor, ``exact (...)`` for a label, a string, a sequence or a map (``harness.core.compare``).
Where some output is compared exactly, its error cell reads ``exact`` (or how many of the
elements compared exactly differ), beside the largest error of the float outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.check.pitfalls import baked_dimension, training_mode
from harness.check.task import TaskTally
from harness.converters.keras2 import is_migration_leg
from harness.core import yardstick
from harness.core.taxonomy import unsupported_op

DISPLAY = {"pass": "agrees", "xpass": "agrees", "fail": "differs", "skip": "not run",
           "error": "error"}
# Which result of a leg's sizes speaks for it: the worst.
SEVERITY = {"error": 5, "fail": 4, "xfail": 3, "skip": 2, "xpass": 1, "pass": 0}


@dataclass
class LegRow:
    leg: str
    path: str
    stage: str
    runner: str
    verdict: str
    results: list[str]  # the suite's verdict at each size
    category: str | None = None
    max_abs: float | None = None
    max_rel: float | None = None
    where: str | None = None
    blame: str | None = None
    known_issue: dict[str, str] | None = None
    pitfalls: list[str] = field(default_factory=list)
    task: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    note: str = ""
    tolerance: str | None = None
    # The float64 yardstick of the worst size (harness.core.yardstick): {source_error, leg_error,
    # ratio}, whether it decided the verdict, or why the model has none.
    yardstick: dict[str, float] | None = None
    judged_by: str | None = None
    yardstick_missing: str | None = None
    # A Keras-2 file's leg through Keras 3 ("and if you move to Keras 3?"): reported apart,
    # and it decides the exit status only where no other leg ran (harness.check.deciding).
    migration: bool = False
    # How each output was compared, in order ("exact (string), tolerance"); and over the
    # outputs compared exactly at every size, how many elements differ of how many.
    comparison: str | None = None
    exact: dict[str, int] | None = None

    @property
    def agrees(self) -> bool:
        return self.verdict == "agrees"

    @property
    def disagrees(self) -> bool:
        """Counts against the exit status: neither agreeing nor not applicable."""
        return self.verdict not in ("agrees", NOT_APPLICABLE)

    def error_text(self) -> str:
        """The error cell: the largest error of the float outputs, and ``exact`` (or ``k/n
        differ``) where outputs are compared exactly."""
        number = "-" if self.max_abs is None else f"{self.max_abs:.3g}"
        if not self.exact:
            return number
        exact = ("exact" if not self.exact["mismatched"]
                 else f"{self.exact['mismatched']}/{self.exact['total']} differ")
        return exact if self.max_abs is None else f"{exact}, {number}"

    def to_json(self) -> dict[str, Any]:
        return {"leg": self.leg, "path": self.path, "stage": self.stage, "runner": self.runner,
                "verdict": self.verdict, "results": self.results, "category": self.category,
                "max_abs": self.max_abs, "max_rel": self.max_rel, "where": self.where,
                "blame": self.blame, "known_issue": self.known_issue,
                "pitfalls": self.pitfalls, "task": self.task, "message": self.message,
                "note": self.note, "tolerance": self.tolerance, "yardstick": self.yardstick,
                "judged_by": self.judged_by, "yardstick_missing": self.yardstick_missing,
                "migration": self.migration, "comparison": self.comparison,
                "exact": self.exact}


# A converter that says it has not implemented something (an op, an attribute value, a
# whole opset domain: onnx2pytorch on a model of ai.onnx.ml ops alone) has no counterpart
# for it, as an unknown op is.
NOT_IMPLEMENTED = re.compile(r"(NotImplementedError|not implemented|Unsupported ops|"
                             r"not supported|no handler|"
                             r"does not import the default ONNX domain)", re.IGNORECASE)


def unsupported(leg) -> bool:
    if leg.category in TRACING:  # PyTorch's message quoted in it says "not supported" often
        return False
    return leg.category == "unsupported_op" or bool(unsupported_op(leg.message)) or bool(
        NOT_IMPLEMENTED.search(leg.message.split("Traceback", 1)[0]))


def _what_is_missing(leg) -> str:
    op = unsupported_op(leg.message)
    if op:
        return f"op {op}"
    head = leg.message.split("Traceback", 1)[0].strip().splitlines()
    text = head[0] if head else "a layer or op of the model"
    return text.split(": ", 1)[-1][:120]


# The stages after a PyTorch module (harness.run.torch_end): their message says whose it is.
TRACING = ("export_error", "compile_error")
MISMATCHES = ("numeric_mismatch", "shape_mismatch", "dtype_mismatch", "nonfinite_mismatch")


NOT_APPLICABLE = "not applicable"


def _verdict(leg) -> str:
    """The row's verdict; a known issue keeps what went wrong (its id goes beside it)."""
    if leg.verdict == "skip" and leg.category == "not_applicable":
        return NOT_APPLICABLE
    if leg.verdict in ("error", "xfail") and unsupported(leg):
        return "unsupported"
    if leg.verdict == "xfail":
        return "differs" if leg.category in MISMATCHES else "error"
    return DISPLAY.get(leg.verdict, leg.verdict)


def _worst(legs):
    return max(legs, key=lambda leg: SEVERITY.get(leg.verdict, 0))


# How harness.core.compare names the side of a NaN/Inf mismatch: the cell says it first.
NONFINITE_SIDE = re.compile(r"(NaN/Inf where the reference has none \([^)]*\)|finite values "
                            r"where the reference has NaN/Inf)")


def _where(leg) -> str | None:
    where = _diverged_at(leg)
    side = NONFINITE_SIDE.search(leg.message or "") if leg.category == "nonfinite_mismatch" \
        else None
    if side:
        return side.group(1) + (f"; {where}" if where else "")
    return where


def _diverged_at(leg) -> str | None:
    diagnosis = leg.diagnosis or {}
    first = diagnosis.get("first_divergence")
    if first:
        stage = diagnosis.get("stage") or leg.blame or leg.stage
        return f"{first['layer']} ({first['kind']}), stage {stage}"
    if leg.verdict in ("error", "xfail") and unsupported(leg):
        return f"{_what_is_missing(leg)} ({leg.blame or leg.stage})"
    if leg.verdict in ("fail", "error", "xfail") and leg.blame:
        return f"stage {leg.blame}"
    return None


def _first_lines(text: str, count: int = 2) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return "\n".join(lines[:count])


def _tolerance(leg: str, result, spec, harness):
    """The tolerance the leg was judged by at one size (its classes tie within it)."""
    if result is not None and result.tolerance is not None:
        return result.tolerance
    return harness.policy.for_spec(spec, leg, harness.device)


def _compared(result) -> list[dict[str, Any]]:
    """Per output, the metrics of its comparison at one size; none where the leg did not
    get as far as comparing."""
    if result.outputs:
        return [m for m in result.outputs if isinstance(m, dict)]
    metrics = result.metrics or {}
    return [metrics] if "expected_shape" in metrics else []


def _comparisons(results) -> tuple[str | None, dict[str, int] | None, list[float]]:
    """(how each output was compared, the exact outputs' tally over every size, the float
    outputs' largest errors) of a leg's results."""
    named, exact, errors = None, None, []
    for result in results:
        compared = _compared(result)
        if compared and named is None:
            named = ", ".join(m.get("comparison") or "tolerance" for m in compared)
        for metrics in compared:
            if metrics.get("comparison"):
                exact = exact or {"mismatched": 0, "total": 0}
                exact["mismatched"] += int(metrics.get("mismatched", 1))
                exact["total"] += int(metrics.get("total", 1))
            elif isinstance(metrics.get("max_abs"), float):
                errors.append(metrics["max_abs"])
    return named, exact, errors


def summarise(runs, harness) -> list[Any]:
    """``runs``: [(CaseResult, the harness that ran it)], the first size first."""
    first_case = runs[0][0]
    by_size = [{leg.leg: leg for leg in case.legs} for case, _ in runs]
    rows = []
    for leg in first_case.legs:
        results = [size[leg.leg] for size in by_size if leg.leg in size]
        worst = _worst(results)
        verdict = _verdict(worst)
        metrics = [r.metrics or {} for r in results]
        comparison, exact, float_errors = _comparisons(results)
        max_abs = (float_errors if exact else
                   [m["max_abs"] for m in metrics if isinstance(m.get("max_abs"), float)])
        max_rel = [m["max_rel"] for m in metrics if isinstance(m.get("max_rel"), float)]
        task = TaskTally()
        for (case, ran), size in zip(runs, by_size):
            outputs = ran.outputs.get(leg.leg)
            if outputs is None and leg.leg == ran.start_name:
                outputs = ran.native
            if outputs is not None and ran.reference is not None:
                task.add(outputs, ran.reference, ran.inputs,
                         _tolerance(leg.leg, size.get(leg.leg), case.spec, ran))
        row = LegRow(
            leg=leg.leg, path=leg.path, stage=leg.stage, runner=leg.runner, verdict=verdict,
            results=[r.verdict for r in results], category=worst.category,
            max_abs=max(max_abs) if max_abs else None,
            max_rel=max(max_rel) if max_rel else None,
            where=_where(worst), blame=worst.blame, known_issue=worst.known_issue,
            task=task.to_json(),
            message="" if verdict == "agrees" else _first_lines(worst.message, 4),
            note=worst.note, tolerance=worst.tolerance.rule if worst.tolerance else None,
            yardstick=(worst.metrics or {}).get("yardstick"),
            judged_by=(worst.metrics or {}).get("judged_by"),
            yardstick_missing=(worst.metrics or {}).get("yardstick_missing") or (
                yardstick.missing_reason(first_case.spec)
                if comparison and not (worst.metrics or {}).get("yardstick") else None),
            migration=is_migration_leg(leg.leg), comparison=comparison, exact=exact)
        if leg.diagnosis and leg.diagnosis.get("summary"):
            row.note = "; ".join(filter(None, [row.note, leg.diagnosis["summary"]]))
        found = training_mode(harness, first_case.spec, leg.leg)
        if found:
            row.pitfalls.append(found)
        if len(results) > 1:
            found = baked_dimension(runs, leg.leg, results)
            if found:
                row.pitfalls.append(found)
        if verdict == "unsupported":
            row.pitfalls.append(f"no counterpart in stage {worst.blame or worst.stage}: "
                                f"{_what_is_missing(worst)}; the other legs still ran")
        rows.append(row)
    return rows


def deciding(rows) -> list:
    """The legs that decide the exit status: a Keras-2 file's legs through Keras 3 (the
    migration legs) answer "and if you move to Keras 3?" and are reported apart, unless the
    check has no other legs (``--paths`` named only those)."""
    kept = [row for row in rows if not row.migration]
    return kept or list(rows)
