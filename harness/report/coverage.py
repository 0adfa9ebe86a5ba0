"""Which attribute values the strategies drew, and which documented values they never did.

Counts are per distinct case, not per result record: a case runs on several legs, but its
spec was drawn once.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core import suites as installed_suites

SUITES = installed_suites.folder()

Domains = Mapping[str, Mapping[str, Any]]
"""{kind: {attribute: [documented values...]}}, as the layer registry declares them."""

DTYPE = "(dtype)"
RANK = "(input rank)"
"""Pseudo-attributes: every spec has them, and they are as much a part of coverage."""


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def canonical(value: Any) -> str:
    """One string per value however it was written: a tuple and its list, 1.0 and 1.0."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class AttributeCoverage:
    drawn: Counter[str] = field(default_factory=Counter)
    documented: list[str] | None = None
    elements: dict[str, set[str]] = field(default_factory=dict)
    """For each drawn list value, its elements: a domain may document the value of one
    dimension (kernel_size 1, 2, 3) while specs hold one per dimension ([3, 3])."""

    def add(self, value: Any) -> None:
        key = canonical(value)
        self.drawn[key] += 1
        if isinstance(value, (list, tuple)) and key not in self.elements:
            self.elements[key] = {canonical(v) for v in value}

    @property
    def never_drawn(self) -> list[str]:
        seen = set(self.drawn).union(*self.elements.values())
        return [v for v in self.documented or [] if v not in seen]

    @property
    def undocumented(self) -> list[str]:
        """Drawn values the domain does not list: the strategy and its documentation differ."""
        if self.documented is None:
            return []
        known = set(self.documented)
        return sorted(
            v
            for v in self.drawn
            if v not in known and not (v in self.elements and self.elements[v] <= known)
        )


@dataclass
class KindCoverage:
    kind: str
    cases: int = 0
    attributes: dict[str, AttributeCoverage] = field(default_factory=dict)

    @property
    def never_drawn(self) -> int:
        return sum(len(a.never_drawn) for a in self.attributes.values())


def _spec_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = record.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _documented(values: Any) -> list[str] | None:
    """Only an explicit list of values can be checked; a description ("1..8") cannot."""
    if isinstance(values, (list, tuple, set, frozenset)):
        listed = [canonical(v) for v in values]
        return sorted(listed) if isinstance(values, (set, frozenset)) else listed
    return None


def kind_label(kind: str, source: str) -> str:
    """A kind as coverage lists it: Keras kinds by name, other sources' as ``source:kind``
    (an ONNX Softmax is not Keras' Softmax)."""
    return kind if source == "keras" else f"{source}:{kind}"


def compute_coverage(
    results: Iterable[Mapping[str, Any]], domains: Domains | None = None
) -> list[KindCoverage]:
    kinds: dict[str, KindCoverage] = {}
    seen: set[str] = set()
    for record in results:
        case_id = str(record.get("case_id"))
        if case_id in seen:
            continue
        seen.add(case_id)
        spec = _spec_of(record)
        kind = kind_label(str(record.get("kind") or spec.get("kind") or "?"),
                          str(record.get("source") or spec.get("source") or "keras"))
        coverage = kinds.setdefault(kind, KindCoverage(kind))
        coverage.cases += 1
        attrs = spec.get("attrs")
        drawn = dict(attrs) if isinstance(attrs, Mapping) else {}
        if "dtype" in spec:
            drawn[DTYPE] = spec["dtype"]
        shapes = spec.get("input_shapes")
        if isinstance(shapes, list) and shapes:
            drawn[RANK] = [len(s) if isinstance(s, list) else None for s in shapes]
            if len(shapes) == 1:
                drawn[RANK] = drawn[RANK][0]
        for name, value in drawn.items():
            coverage.attributes.setdefault(str(name), AttributeCoverage()).add(value)
    for kind, attributes in (domains or {}).items():
        coverage = kinds.setdefault(str(kind), KindCoverage(str(kind)))
        for name, values in attributes.items():
            attribute = coverage.attributes.setdefault(str(name), AttributeCoverage())
            attribute.documented = _documented(values)
    return sorted(kinds.values(), key=lambda k: k.kind)


# -- what the suites' corpora reach of the draw code (suites/<source>/cover.json) -----------

def reach(suites: Path = SUITES) -> dict[str, dict[str, Any]]:
    """{source: figures} of every measured suite, as ``python -m harness.tools.draw_cover``
    wrote them; empty where none was. A damaged file
    measures nothing: the tool writes it anew."""
    figures = {}
    for path in sorted(suites.glob("*/cover.json")) if suites.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            figures[data["source"]] = {**data["figures"], "cases": len(data["cases"]),
                                       "profile": data["profile"],
                                       "goal": data.get("goal", "branches and pairs"),
                                       "unreached": len(data.get("unreached", ()))}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return figures


def reach_text(figures: dict[str, Any]) -> str:
    """One line: 'draw-code branches 85.7% by the ci corpus (97.2% with its 708 covering
    cases); (attribute value, axis) pairs 47.7% (100.0%)'. A cover of branches alone says
    so; one whose cases the ci profile runs only in part says what that part reaches."""
    branches, pairs = figures["branches"], figures["pairs"]
    if figures.get("goal", "branches and pairs") == "branches":
        return (f"draw-code branches {branches['corpus_percent']}% by the "
                f"{figures['profile']} corpus ({branches['with_cover_percent']}% with its "
                f"{figures['cases']} covering cases); (attribute value, axis) pairs "
                f"{pairs['corpus_percent']}% (the cover reaches branches only)")
    if ci := figures.get("ci_cover"):
        part = (f"the {ci['cases']} of its {figures['cases']} covering cases that take each "
                f"kind to {ci['goal_percent']:g}% of its pairs" if "goal_percent" in ci else
                f"the first {ci['cases']} of its {figures['cases']} covering cases")
        return (f"draw-code branches {branches['corpus_percent']}% by the "
                f"{figures['profile']} corpus ({ci['branches_percent']}% with {part}, "
                f"{branches['with_cover_percent']}% with all); (attribute value, axis) pairs "
                f"{pairs['corpus_percent']}% ({ci['pairs_percent']}%, "
                f"{pairs['with_cover_percent']}% with all)")
    return (f"draw-code branches {branches['corpus_percent']}% by the {figures['profile']} "
            f"corpus ({branches['with_cover_percent']}% with its {figures['cases']} covering "
            f"cases); (attribute value, axis) pairs {pairs['corpus_percent']}% "
            f"({pairs['with_cover_percent']}%)")
