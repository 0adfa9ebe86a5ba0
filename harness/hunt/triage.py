"""From failing legs to root causes: which failures are new, how they group, how they shrink.

A leg is a **finding** when it fails (``fail`` or ``error``) and no known issue recognised it
(the pipeline has already matched the known issues: a recognised failure is an ``xfail``),
and its failure is the converter's rather than the draw's (a source that cannot build the
case, ``source_error`` or ``source_refusal``, is an invalid draw).

Findings group by root cause, not by case: the stage blamed, the source and kind, the
category, a fingerprint of the message with its numbers, names and shapes taken out, and,
for a multi-layer case, the kind of the layer where the leg first diverged. Two cases of
``ReduceMax`` whose onnx2torch leg is ``numeric_mismatch`` with the same message shape are one
group however their axes and shapes were drawn.

The shrink is spec-level and greedy, as a person would reduce a case by hand: drop the input
overrides, take seed 0, fix the free dimensions, leave out each attribute (its default) or take
a simpler value of its domain (domains are ordered simplest first), then make each dimension
1, half or one smaller; a step is kept when the case still fails in the same group. It runs
the candidates through the same isolated worker as the search.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from harness.core import registry
from harness.core.records import CaseResult, LegResult
from harness.core.spec import LayerSpec, SpecError
from harness.core.taxonomy import FAILING

# Categories that say the draw was invalid (the source could not build it), not a finding.
NOT_FINDINGS = ("source_error", "source_refusal")
COMPARISONS = ("shape_mismatch", "dtype_mismatch", "nonfinite_mismatch", "numeric_mismatch",
               "value_mismatch")
MESSAGE_CHARS = 240

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_PATHS = re.compile(r"(/[\w.\-]+){2,}")
_QUOTED_NAME = re.compile(r"'(?:[A-Za-z_]*[_/.:])[\w/.:-]*'")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_NUMBER_RUNS = re.compile(r"#(?:\s*[,x×]\s*#)+")
_SPACES = re.compile(r"\s+")
_PREFIX = re.compile(r"at input shapes .*:$|the source's .*:$")
_INHERITED = re.compile(r"^\(inherited from [^)]*\) ")


def normalised(message: str) -> str:
    """The message's first line with what varies between cases of one bug taken out: numbers
    (values, shapes, indices, sizes), addresses, file paths and generated node names."""
    lines = [line for line in (message or "").splitlines() if line.strip()]
    # what the pipeline puts before a failure's own words: the size it failed at, the
    # source's second reading
    while len(lines) > 1 and _PREFIX.match(lines[0]):
        lines = lines[1:]
    first = _INHERITED.sub("", lines[0]) if lines else ""
    text = _HEX.sub("#", first)
    text = _PATHS.sub("PATH", text)
    text = _QUOTED_NAME.sub("'NAME'", text)
    text = _NUMBER.sub("#", text)
    text = _NUMBER_RUNS.sub("#", text)
    return _SPACES.sub(" ", text).strip()[:MESSAGE_CHARS]


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def is_finding(leg: LegResult) -> bool:
    return leg.verdict in FAILING and leg.category not in NOT_FINDINGS


def place_of(leg: LegResult) -> str:
    """Where a multi-layer case's leg first diverged: that layer's kind (its own name, with
    numbers taken out), or "" for a one-layer case or where the diagnosis found none."""
    first = (leg.diagnosis or {}).get("first_divergence") or {}
    where = first.get("kind") or first.get("op_type") or first.get("layer") or ""
    return _NUMBER.sub("#", str(where))


def signature(spec: LayerSpec, leg: LegResult) -> dict[str, str]:
    """The group a finding belongs to: its key and the parts it is made of."""
    stage = leg.blame or leg.stage
    category = leg.category or leg.verdict
    message = normalised(leg.message)
    parts = {"stage": stage, "source": spec.source, "kind": spec.kind, "category": category,
             "fingerprint": fingerprint(message), "place": place_of(leg)}
    key = fingerprint("|".join(parts[k] for k in ("stage", "source", "kind", "category",
                                                  "fingerprint", "place")))
    return {**parts, "key": key, "normalised": message}


def findings(case: CaseResult) -> list[tuple[dict[str, str], list[LegResult]]]:
    """The case's failing legs that no known issue recognised, by group: each signature with
    the legs it explains. A leg downstream of a failing one and blamed on that leg's stage
    joins its group (it inherits the fault) rather than starting one."""
    groups: dict[str, tuple[dict[str, str], list[LegResult]]] = {}
    by_stage: dict[str, str] = {}  # the stage blamed -> the first group blamed on it
    for leg in case.legs:
        if not is_finding(leg):
            continue
        stage = leg.blame or leg.stage
        if stage != leg.stage and stage in by_stage:
            groups[by_stage[stage]][1].append(leg)
            continue
        sig = signature(case.spec, leg)
        groups.setdefault(sig["key"], (sig, []))[1].append(leg)
        by_stage.setdefault(stage, sig["key"])
    return list(groups.values())


def recognised_by(spec: LayerSpec, leg: str, category: str, message: str,
                  issues) -> str | None:
    """The known issue that recognises a group's failure now (an entry a person added since
    the hunt found it), or None."""
    for issue in issues:
        if issue.matches_case(spec, leg) and issue.matches_failure(category, message):
            return issue.id
    return None


# -- the shrink ------------------------------------------------------------------------------

def _simpler_values(kind, attr: str, value: Any) -> list[Any]:
    domain = kind.domains.get(attr) if kind is not None else None
    if not domain:
        return []
    values = list(domain)
    try:
        index = values.index(value)
    except ValueError:
        return values[:1]
    return values[:index]


def candidates(spec: LayerSpec) -> Iterator[tuple[str, LayerSpec]]:
    """Simpler specs than ``spec``, one step each, the biggest simplifications first."""
    if spec.input_overrides:
        yield "no input overrides", replace(spec, input_overrides=())
    if spec.seed != 0:
        yield "seed 0", replace(spec, seed=0)
    if spec.free_dims or spec.more_shapes:
        yield "fixed dimensions", replace(spec, free_dims=(), more_shapes=())
    try:
        kind = registry.get(spec.kind, spec.source)
    except KeyError:
        kind = None
    documented = set(kind.attribute_domains) if kind is not None else set(spec.attrs)
    for attr in sorted(spec.attrs):
        if attr not in documented:
            continue  # a knob that shapes the case (opset, operands, ...), not an attribute
        rest = {k: v for k, v in spec.attrs.items() if k != attr}
        yield f"{attr} left out", replace(spec, attrs=rest)
        for value in _simpler_values(kind, attr, spec.attrs[attr]):
            yield f"{attr} = {value!r}", replace(spec, attrs={**spec.attrs, attr: value})
    shapes = [list(s) for s in spec.input_shapes]
    rank = max((len(s) for s in shapes), default=0)
    for axis in range(rank):
        sizes = {s[axis] for s in shapes if len(s) > axis}
        for size in sorted(sizes, reverse=True):
            if size <= 1:
                continue
            for smaller in dict.fromkeys((1, size // 2, size - 1)):
                if smaller < 1 or smaller >= size:
                    continue
                together = [[*s[:axis], smaller, *s[axis + 1:]]
                            if len(s) > axis and s[axis] == size else s for s in shapes]
                yield (f"dimension {axis}: {size} -> {smaller}",
                       replace(spec, input_shapes=tuple(tuple(s) for s in together),
                               input_overrides=()))
    if spec.dtype != "float32" and "input_dtypes" not in spec.attrs:
        yield "float32", replace(spec, dtype="float32")


def shrink(spec: LayerSpec, key: str, run: Callable[[LayerSpec], CaseResult | None], *,
           deadline: float, max_runs: int = 80) -> tuple[LayerSpec, dict[str, Any]]:
    """The simplest spec reached from ``spec`` whose case still fails in group ``key``.

    ``run`` runs a spec (None where it could not: an invalid spec, a worker's protocol error);
    the shrink stops at ``deadline`` (``time.monotonic()``) or after ``max_runs`` runs, with
    the simplest spec so far.
    """
    tried = {spec.case_id}
    taken: list[str] = []
    runs = 0
    improved = True
    while improved and runs < max_runs and time.monotonic() < deadline:
        improved = False
        for step, candidate in candidates(spec):
            if runs >= max_runs or time.monotonic() >= deadline:
                break
            try:
                case_id = candidate.case_id
            except SpecError:
                continue
            if case_id in tried:
                continue
            tried.add(case_id)
            runs += 1
            case = run(candidate)
            if case is None:
                continue
            if any(sig["key"] == key for sig, _ in findings(case)):
                spec = candidate
                taken.append(step)
                improved = True
                break  # the candidates of the simpler spec, from the first again
    finished = not improved
    return spec, {"runs": runs, "steps": taken, "finished": finished}
