"""Covering cases per converter leg: every (attribute value, axis) pair a converter can
convert, reached in a case that converter converts and agrees on (docs/coverage.md#per-leg).
Not imported by the harness::

    python -m harness.tools.leg_cover [--source onnx|keras] [--legs LEG,...] [--examples N]
                                      [--kinds K ...] [--cover COVER] [--dry-run]

The cover (``harness.tools.draw_cover``) holds every pair of the draw code in *some* case.
A pair held only by cases a converter refuses tests nothing of that converter: onnx2pytorch
refuses a GRU with written activations or a clip, so the ci corpus's GRU cases with a bias,
``linear_before_reset`` 1 or a reverse direction were every one refused, and a fault planted
in its GRU's bias survived the whole ci gate.

So, for each leg (by default the ONNX source's converters, onnx2torch and onnx2pytorch), each
case the ci profile runs of the ONNX op suite (its drawn corpus and the cover's cases) is run
down that leg alone, known issues off: a case the leg *exercises* is one it converts, runs and
agrees on, where a fault would show. Then each kind's draws (``--examples`` per axis) are run
the same way, and greedily the fewest of them that the leg exercises are chosen to reach the
pairs it exercises somewhere and the ci corpus and cover exercise nowhere. They go into
``cover.json`` as ``leg_cases`` (each naming the legs and pairs it brought), which
``suites/onnx/test_cover.py`` runs down the paths that go on from those legs
(``harness.cover_corpus.legs_by_case``), and the figures as ``leg_figures``: per leg, the
pairs it exercises in the ci cases before and with them. A pair no draw lets a leg exercise
(an attribute value a converter refuses, an op it has no converter for) is not a gap of the
cover; ``leg_figures`` counts those apart.

``--source keras`` measures the Keras layer suite's legs (``keras>tf2onnx`` and the onnx2torch
leg after it) over its ci cases (the draws ci runs and the cover's ci part); a Keras case
costs a tf2onnx conversion, so try it on a few ``--kinds`` with ``--dry-run`` first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.core import registry
from harness.core.frameworks import prepare_imports
from harness.core.spec import LayerSpec
from harness.core.stages import starts_from
from harness.core.strategies import without_local_constants
from harness.cover_corpus import ci_skipped_ids, in_ci
from harness.run.pipeline import Harness
from harness.runtimes.keras_custom import register_custom_objects
from harness.tools import draw_cover as dc

ROOT = dc.ROOT
EXAMPLES = 40


@dataclass(frozen=True)
class LegSource:
    """A source's draw suite, its cover and the converter legs measured by default."""

    suite: str
    cover: Path
    legs: tuple[str, ...]


SOURCES = {
    "onnx": LegSource("suites/onnx/test_ops.py", ROOT / "suites" / "onnx" / "cover.json",
                      ("onnx>onnx2torch", "onnx>onnx2pytorch")),
    # tf2onnx's leg is judged by onnxruntime, which has no float64 Conv: there the onnx2torch
    # leg after it is where a tf2onnx fault shows (``exercise``).
    "keras": LegSource("suites/layers/test_layers.py", ROOT / "suites" / "layers" / "cover.json",
                       ("keras>tf2onnx", "keras>tf2onnx>onnx2torch")),
}
SOURCE = "onnx"


@dataclass
class Case:
    """One spec, the axis it was drawn along, its pairs and the legs that exercise it."""

    kind: str
    axis: str
    spec: dict[str, Any]
    pairs: set[tuple[str, str, str, str]]
    exercised_by: set[str] = field(default_factory=set)


def corpus_specs(folder: Path, source: str = SOURCE,
                 kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """The ci profile's drawn corpus of the source's suite: drawn by the recorder, not run;
    less the draws ci leaves to the cover (``harness.cover_corpus.CI_DRAWS``)."""
    suite = SOURCES[source].suite
    dc.record_corpus(source, suite, "ci", folder, kinds)
    left = ci_skipped_ids((ROOT / suite).parent)
    entries = [json.loads(line) for line in
               (folder / "ci-specs.jsonl").read_text(encoding="utf-8").splitlines()]
    return [entry for entry in entries
            if LayerSpec.from_json(entry["spec"]).case_id not in left]


def operand_form(operand: Any) -> str:
    """How an ONNX node's input is given: left out, a graph input, a constant, or a weight by
    its role (a bias, an initial state)."""
    if operand in (None, ""):
        return "omitted"
    if isinstance(operand, dict):
        return operand.get("role") or "constant"
    return "input"


def operand_pairs(kind_name: str, spec: dict[str, Any], axis: str) -> set:
    """(kind, "(input i)", its form, axis) for each of the node's inputs: the optional inputs a
    converter handles apart (a GRU's bias, its initial state) are no attribute of the schema,
    and the draw code's branches that choose them are no pair of the cover."""
    operands = spec.get("attrs", {}).get("operands") or []
    return {(kind_name, f"(input {i})", operand_form(operand), axis)
            for i, operand in enumerate(operands)}


def case_of(kind_name: str, axis: str, spec: dict[str, Any], source: str = SOURCE) -> Case:
    kind = registry.get(kind_name, source)
    return Case(kind_name, axis, spec,
                dc.spec_pairs(kind, spec, axis) | operand_pairs(kind_name, spec, axis))


def drawn(kind_name: str, axis: str, count: int, source: str = SOURCE) -> list[Case]:
    """``count`` derandomised draws of a kind along an axis."""
    strategy = dc.SOURCES[source].specs(kind_name, axis)
    specs: list[LayerSpec] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data) -> None:
        specs.append(data.draw(strategy))

    with without_local_constants():
        collect()
    return [case_of(kind_name, axis, spec.to_json(), source) for spec in specs]


def exercise(cases: Iterable[Case], harness: Harness, legs: tuple[str, ...]) -> None:
    """Runs each case down ``legs`` (known issues off) and keeps the legs that pass it, or
    that a passing leg goes on from (where onnxruntime cannot run tf2onnx's float64 model,
    the onnx2torch leg after it shows tf2onnx's faults)."""
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the converters' own, on cases drawn to probe
            try:
                result = harness.run(LayerSpec.from_json(case.spec))
            except Exception:  # a case that breaks the run exercises nothing
                continue
        passing = [leg.leg for leg in result.legs if leg.verdict == "pass"]
        case.exercised_by = {leg for leg in legs
                             if any(starts_from(later, leg) for later in passing)}


def targets(case: Case, legs: tuple[str, ...]) -> set[tuple[str, tuple]]:
    """(leg, pair) for each pair of the case and each of ``legs`` that exercises it."""
    return {(leg, pair) for leg in case.exercised_by if leg in legs for pair in case.pairs}


def greedy(candidates: list[Case], legs: tuple[str, ...], held: set) -> list[tuple[Case, set]]:
    """The fewest candidates (greedily) that reach the (leg, pair) targets ``held`` misses,
    each with the targets it brought: one case a pair's every leg exercises beats two."""
    pool = [c for c in candidates if targets(c, legs) - held]
    reached, chosen = set(held), []
    while pool:
        best = max(pool, key=lambda c: len(targets(c, legs) - reached))
        gained = targets(best, legs) - reached
        if not gained:
            break
        chosen.append((best, gained))
        reached |= gained
        pool.remove(best)
    return chosen


def _key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def measure(cover: dict[str, Any], corpus: list[dict[str, Any]], legs: tuple[str, ...],
            examples: int, kinds: list[str] | None = None, source: str = SOURCE
            ) -> dict[str, Any]:
    """``leg_cases`` and ``leg_figures`` for ``cover.json`` (the module docstring)."""
    prepare_imports()
    if source == "keras":
        register_custom_objects()
    harness = Harness(",".join(legs), known_issues=[], diagnose=False)
    axis_of = dc.SOURCES[source].axis_of
    ci_cases = [case_of(e["spec"]["kind"], axis_of(e), e["spec"], source) for e in corpus]
    ci_cases += [case_of(e["kind"], e["axis"], e["spec"], source) for e in cover["cases"]
                 if in_ci(e, cover)]
    if kinds:
        ci_cases = [c for c in ci_cases if c.kind in kinds]
    exercise(ci_cases, harness, legs)
    before = set().union(*(targets(c, legs) for c in ci_cases))
    every_pair = set().union(*(c.pairs for c in ci_cases))
    by_kind: dict[str, list[Case]] = defaultdict(list)
    for case in ci_cases:
        by_kind[case.kind].append(case)
    seen = {_key(c.spec) for c in ci_cases}
    chosen: list[tuple[Case, set]] = []
    exercisable = set(before)
    for name in sorted(by_kind):
        # A kind every leg exercises in every ci case has no gap to draw for.
        if all(set(legs) <= c.exercised_by for c in by_kind[name]):
            continue
        candidates = [c for axis in dc.SOURCES[source].axes(registry.get(name, source))
                      for c in drawn(name, axis, examples, source) if _key(c.spec) not in seen]
        exercise(candidates, harness, legs)
        exercisable |= set().union(*(targets(c, legs) for c in candidates))
        for case, gained in greedy(candidates, legs, before):
            chosen.append((case, gained))
            seen.add(_key(case.spec))
    with_cases = before.union(*(gained for _case, gained in chosen))

    def count(held: set, leg: str, kind: str) -> int:
        return sum(1 for held_leg, pair in held if held_leg == leg and pair[0] == kind)

    def figures(kind: str, leg: str) -> dict[str, int]:
        return {"pairs_in_ci_cases": sum(1 for pair in every_pair if pair[0] == kind),
                "exercised_before": count(before, leg, kind),
                "exercised_with_leg_cases": count(with_cases, leg, kind),
                "exercisable_drawn": count(exercisable, leg, kind),
                "leg_cases_bringing": sum(1 for case, gained in chosen
                                          if case.kind == kind and count(gained, leg, kind))}

    # Per kind: a pair is of one kind, so a whole cover's figures are the kinds' sums.
    figures_by_kind = {kind: {leg: figures(kind, leg) for leg in legs}
                       for kind in sorted(by_kind)}
    return {
        "leg_examples_per_axis": examples,
        "leg_figures": summed(figures_by_kind, legs),
        "leg_figures_by_kind": figures_by_kind,
        "leg_cases": [{"kind": case.kind, "axis": case.axis, "spec": case.spec,
                       "legs": sorted({leg for leg, _pair in gained}),
                       "pairs": sorted({f"{attr}={value} ({axis})"
                                        for _leg, (_kind, attr, value, axis) in gained})}
                      for case, gained in sorted(chosen, key=lambda t: t[0].kind)],
    }


def summed(by_kind: dict[str, dict[str, dict[str, int]]],
           legs: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each leg's figures over every kind."""
    totals: dict[str, dict[str, int]] = {leg: defaultdict(int) for leg in legs}
    for figures in by_kind.values():
        for leg, counts in figures.items():
            for name, value in counts.items():
                totals.setdefault(leg, defaultdict(int))[name] += value
    return {leg: dict(counts) for leg, counts in totals.items()}


class CoverError(ValueError):
    pass


def merged(cover: dict[str, Any], result: dict[str, Any], kinds: list[str] | None,
           legs: tuple[str, ...]) -> dict[str, Any]:
    """``cover`` with ``result``'s leg cases and figures: all of them where every kind was
    measured; with ``kinds``, those kinds' in place of the cover's own, the other kinds' kept
    (``leg_kinds`` then names the kinds the cover's leg cases were chosen for)."""
    if not kinds:
        return {**{k: v for k, v in cover.items() if k != "leg_kinds"}, **result}
    if "leg_figures" in cover and "leg_figures_by_kind" not in cover:
        raise CoverError("the cover's leg figures are not per kind (written before they "
                         "were): choose every kind's leg cases again, without --kinds")
    if cover.get("leg_examples_per_axis", result["leg_examples_per_axis"]) != \
            result["leg_examples_per_axis"]:
        raise CoverError(f"the cover's leg cases were drawn at "
                         f"{cover['leg_examples_per_axis']} examples an axis: give that "
                         f"--examples, or choose every kind's again")
    by_kind = {kind: figures for kind, figures in cover.get("leg_figures_by_kind", {}).items()
               if kind not in kinds}
    by_kind.update(result["leg_figures_by_kind"])
    cases = [case for case in cover.get("leg_cases", []) if case["kind"] not in kinds]
    cases = sorted([*cases, *result["leg_cases"]], key=lambda case: case["kind"])
    out = {**cover, **result, "leg_cases": cases,
           "leg_figures_by_kind": dict(sorted(by_kind.items())),
           "leg_figures": summed(by_kind, legs)}
    if "leg_cases" not in cover or "leg_kinds" in cover:  # else every kind was measured
        out["leg_kinds"] = sorted({*cover.get("leg_kinds", []), *kinds})
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.leg_cover",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=SOURCE, choices=sorted(SOURCES))
    parser.add_argument("--legs", default=None,
                        help="comma-separated legs (default: the source's converters)")
    parser.add_argument("--examples", type=int, default=EXAMPLES,
                        help="draws per kind and axis among which leg cases are chosen")
    parser.add_argument("--kinds", nargs="*",
                        help="only these kinds: their leg cases replace theirs in the cover, "
                             "the other kinds' are kept")
    parser.add_argument("--cover", type=Path, default=None,
                        help="default: the source's suite's cover.json")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the figures; write nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    chosen = SOURCES[args.source]
    legs = (chosen.legs if args.legs is None
            else tuple(leg.strip() for leg in args.legs.split(",") if leg.strip()))
    path = args.cover or chosen.cover
    cover = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = corpus_specs(Path(tmp), args.source, args.kinds)
    result = measure(cover, corpus, legs, args.examples, args.kinds, args.source)
    print(json.dumps(result["leg_figures"], indent=1))
    print(f"{len(result['leg_cases'])} leg cases")
    if not args.dry_run:
        try:
            cover = merged(cover, result, args.kinds, legs)
        except CoverError as exc:
            print(f"leg_cover: {path}: {exc}; nothing written")
            return 2
        path.write_text(json.dumps(cover, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
