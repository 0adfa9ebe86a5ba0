"""What a profile's corpus reaches of the draw code, and a covering set of cases for the rest.

    python -m harness.tools.draw_cover --source onnx --suite suites/onnx/test_ops.py \\
        --out suites/onnx/cover.json

1. The suite's draw tests run under the profile (``ci``: derandomised, 12 examples a test)
   with ``harness.tools.draw_recorder``: every case is drawn and none is run, and coverage.py
   (branch mode, one context per test) records the draw code each reaches.
2. Each kind is then drawn ``--examples`` more times on every axis it admits, each draw
   measured alone: the branches it takes and the (attribute value, axis) pairs its spec
   holds. The draw code is every function that ran while drawing; its branches are the
   denominator, and so are the pairs any draw reached (what the kind admits, measured).
3. Greedily, the fewest of those draws that reach what the corpus missed become the
   covering cases. The output holds them with both figures (before and with them) and what
   stays unreached. ``suites/<source>/test_cover.py`` runs the covering cases, a kind's in
   one test (a pair costs one case, not one test).

Nothing here runs a conversion; a draw costs milliseconds.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.core import axes, registry
from harness.core.frameworks import prepare_imports
from harness.core.spec import LayerSpec
from harness.core.strategies import layer_specs, without_local_constants
from harness.cover_corpus import EVERY_DRAW
from harness.golden.update import CORPUS
from harness.golden.update import corpus as golden_corpus
from harness.report.coverage import canonical, reach_text
from harness.run.pipeline import Harness, SourceError
from harness.runtimes.keras_custom import register_custom_objects
from harness.sources.mat import kinds as mat_kinds
from harness.sources.mat.draw import mat_specs
from harness.sources.mat.layer import IMAGE, INPUT, SEQUENCE, Size

PLAIN = "float32"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DrawSource:
    """How the tool drives one source's draws.

    ``files``: the draw code (the families' files: draw functions sit beside the builders;
    only functions that run while drawing count). The shared machinery (harness.core.strategies,
    harness.core.free_dims) holds branches for every source; it is left out of a source's
    figure, which would count the other sources' branches as unreachable.
    ``axes(kind)``: what a kind is drawn along, ``specs(kind name, axis)`` the strategy
    drawing it so, ``axis_of(corpus entry)`` the axis a corpus case was drawn along and
    ``values(kind, spec)`` the attribute values a spec holds, by attribute.
    """

    files: tuple[str, ...]
    axes: Callable[[Any], tuple[str, ...]]
    specs: Callable[[str, str], Any]
    axis_of: Callable[[dict[str, Any]], str]
    values: Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass
class Draw:
    kind: str
    axis: str
    spec: dict[str, Any]
    arcs: set[tuple[str, int, int]] = field(default_factory=set)
    pairs: set[tuple[str, str, str, str]] = field(default_factory=set)
    # What the greedy cover gained by choosing it: branches and pairs nothing before it held.
    new_arcs: set[tuple[str, int, int]] = field(default_factory=set)
    new_pairs: set[tuple[str, str, str, str]] = field(default_factory=set)


# -- the corpus a profile draws ---------------------------------------------------------------

def record_corpus(source: str, suite: str, profile: str, folder: Path,
                  kinds: list[str] | None = None, per_draw: bool = False) -> None:
    """Runs the suite's draw tests with the recorder; writes ci-specs.jsonl and ci.coverage.
    ``kinds`` narrows the tests to those whose id names one of them (a substring match);
    ``per_draw`` measures one coverage context per draw rather than per test. Every drawn
    case is recorded, those the ci profile leaves to the cover too
    (``harness.cover_corpus.CI_DRAWS``: the corpus is what is drawn)."""
    select = "not known_issue" + (f" and ({' or '.join(kinds)})" if kinds else "")
    include = ",".join(str(ROOT / pattern) for pattern in SOURCES[source].files)
    env = {**os.environ, "PARITY_DRAW_OUT": str(folder), "PARITY_DRAW_COVERAGE": "1",
           "PARITY_DRAW_INCLUDE": include, "PYTHONPATH": str(ROOT),
           EVERY_DRAW: "all", **({"PARITY_DRAW_CONTEXT": "draw"} if per_draw else {})}
    command = [sys.executable, "-m", "pytest", "-p", "harness.tools.draw_recorder", suite,
               "-k", select, f"--hypothesis-profile={profile}", "-p", "no:xdist",
               "-p", "no:cacheprovider", "-q", "--parity-report", "none"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if not (folder / "ci-specs.jsonl").exists():
        raise SystemExit(f"the recorder wrote nothing:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def axis_of_test(nodeid: str) -> str:
    """The axis a suite test draws along: ``test_op_axis[Conv-float16]`` -> float16."""
    params = nodeid.rsplit("[", 1)[-1].rstrip("]") if "[" in nodeid else ""
    if "_axis[" in nodeid and "-" in params:
        return params.split("-", 1)[1]
    return PLAIN


# -- branches ---------------------------------------------------------------------------------

def _is_draw_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A kind's draw function or a helper of one: named for drawing, or handed the Picker."""
    params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return "draw" in node.name or any(
        a.arg in ("pick", "picker") or (a.annotation is not None
                                         and ast.unparse(a.annotation) == "Picker")
        for a in params)


def _function_ranges(path: str) -> list[tuple[int, int, str, bool]]:
    """Every function of a file: its lines, its name and whether it is draw code."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return sorted((node.lineno, node.end_lineno or node.lineno, node.name,
                   _is_draw_function(node))
                  for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _pragma_reason(line: str) -> str:
    """What a ``# pragma: no branch`` line says of why (the text after the pragma)."""
    why = line.partition("pragma: no branch")[2].strip(" ():;-")
    return f"marked not a draw path in the source: {why or 'no reason written'}"


def _innermost(ranges, line: int) -> tuple[int, int, str] | None:
    """The function whose body holds ``line``; a ``def`` line runs in the enclosing scope
    (defining a draw function is not drawing)."""
    inside = [r for r in ranges if r[0] < line <= r[1]]
    return min(inside, key=lambda r: r[1] - r[0]) if inside else None


class Branches:
    """The branch arcs of the draw code: those of every draw function (named for drawing, or
    handed the Picker) that ran while the corpus or the search drew; building a model to
    probe a draw's validity is not drawing.

    A branch line the source marks ``# pragma: no branch`` (coverage.py's own mark for a
    branch that is never meant to go both ways: a guard no kind's draw takes today) is not
    counted; ``marked`` keeps those of its arcs no draw took, with the reason written beside
    the pragma."""

    def __init__(self, cov, files: list[str], executed: set[tuple[str, int, int]]):
        self.possible: set[tuple[str, int, int]] = set()
        self.marked: dict[tuple[str, int, int], str] = {}
        self._reporters = {path: cov._get_file_reporter(path) for path in files}
        executed = self.translated(executed)
        ran = {(f, _innermost(self._ranges(f), a)) for f, a, _b in executed if a > 0}
        for path in files:
            analysis = cov._analyze(path)
            ranges = self._ranges(path)
            branch_lines = {line for line, exits in analysis.exit_counts.items() if exits > 1}
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            for start, end in analysis.arc_possibilities:
                function = _innermost(ranges, start)
                if not (function is not None and function[3] and (path, function) in ran):
                    continue
                if start in analysis.no_branch:
                    if (path, start, end) not in executed and 0 < start <= len(lines):
                        self.marked[(path, start, end)] = _pragma_reason(lines[start - 1])
                elif start in branch_lines:
                    self.possible.add((path, start, end))

    _cache: dict[str, list] = {}

    @classmethod
    def _ranges(cls, path: str):
        if path not in cls._cache:
            cls._cache[path] = _function_ranges(path)
        return cls._cache[path]

    def translated(self, arcs) -> set[tuple[str, int, int]]:
        """Arcs as coverage.py's analysis names them: a jump into a statement of several
        lines lands on a later line of it at run time (94 -> 99 into a dict literal that
        starts on line 98), on its first line in the analysis."""
        by_path: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for path, a, b in arcs:
            by_path[path].add((a, b))
        return {(path, a, b) for path, pairs in by_path.items()
                for a, b in (self._reporters[path].translate_arcs(pairs)
                             if path in self._reporters else pairs)}

    def of(self, arcs) -> set[tuple[str, int, int]]:
        return {arc for arc in self.translated(arcs) if arc in self.possible}


def executed_arcs(data, contexts: list[str] | None = None) -> set[tuple[str, int, int]]:
    if contexts is not None:  # coverage.py reads each as a regular expression
        data.set_query_contexts([f"^{re.escape(c)}$" for c in contexts])
    arcs = {(path, a, b) for path in data.measured_files() for a, b in (data.arcs(path) or ())}
    data.set_query_contexts(None)
    return arcs


# -- pairs --------------------------------------------------------------------------------------

ANY_AXIS = "any axis"
SHAPES = "(output shapes)"
"""A pseudo-attribute, as ``(dtype)`` is in the report: how an ONNX case's outputs relate to
its input and to each other, from ONNX shape inference. A relation between attribute values
is no branch and no value of its own (Split's num_outputs that does not divide its axis gives
unequal parts), but it shows in the shapes."""


def shape_relation(kind, spec: dict[str, Any]) -> str | None:
    """'as input', 'unequal outputs', 'empty output' or 'other' for an ONNX case."""
    if kind.source != "onnx" or kind.build_model is None:
        return None
    try:
        import onnx

        model = kind.build_model(dict(spec.get("attrs", {})),
                                 [tuple(x) for x in spec["input_shapes"]],
                                 spec.get("dtype", "float32"))
        inferred = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # noqa: BLE001  (a draw shape inference cannot follow: no relation)
        return None

    def dims(value) -> tuple | None:
        shape = value.type.tensor_type.shape
        known = [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]
        return None if None in known or not value.type.tensor_type.HasField("shape") \
            else tuple(known)

    outputs = [dims(v) for v in inferred.output]
    if not outputs or None in outputs:
        return None
    if any(0 in shape for shape in outputs):
        return "empty output"
    if len(set(outputs)) > 1 and len({len(s) for s in outputs}) == 1:
        return "unequal outputs"
    first = tuple(spec["input_shapes"][0]) if spec["input_shapes"] else None
    return "as input" if outputs[0] == first else "other"


def spec_pairs(kind, spec: dict[str, Any], axis: str) -> set[tuple[str, str, str, str]]:
    """(kind, attribute, value, axis) for each attribute value the spec holds that the kind
    documents (a list value counts its documented elements too), and for how its outputs'
    shapes relate (``SHAPES``)."""
    pairs = set()
    relation = shape_relation(kind, spec)
    if relation is not None:
        pairs.add((kind.name, SHAPES, relation, axis))
    held = SOURCES[kind.source].values(kind, spec)
    for attr, documented in kind.attribute_domains.items():
        if attr not in held:
            continue
        known = {canonical(v) for v in documented}
        value = held[attr]
        values = [value, *value] if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if canonical(v) in known:
                pairs.add((kind.name, attr, canonical(v), axis))
                if relation is not None:  # the value beside each relation, on any axis
                    pairs.add((kind.name, f"{attr}={canonical(v)} {SHAPES}", relation,
                               ANY_AXIS))
    return pairs


# -- the sources ----------------------------------------------------------------------------------

def _layer_axes(kind) -> tuple[str, ...]:
    return (PLAIN, *axes.admitted(kind).names)


def _layer_specs(source: str):
    def specs(kind_name: str, axis: str):
        return layer_specs(kind_name, source=source, axis=None if axis == PLAIN else axis)

    return specs


def _test_axis(entry: dict[str, Any]) -> str:
    return axis_of_test(entry.get("test") or "")


def _spec_attrs(kind, spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec.get("attrs", {}))


def mat_values(kind, spec: dict[str, Any]) -> dict[str, Any]:
    """What a MATLAB case holds of its kind's attributes: the kind's own layer's (the input
    layer's for ``input``), the network's file version, its input's layout and sizes, and
    how many layers follow the kind's own. The format is the axis, not a value."""
    attrs = spec.get("attrs", {})
    layers = attrs.get("layers", [])
    if kind.name == INPUT:
        own, after = attrs.get("input", {}), len(layers)
    else:
        index = next((i for i, layer in enumerate(layers) if layer["kind"] == kind.name),
                     None)
        own = layers[index]["attrs"] if index is not None else {}
        after = len(layers) - index - 1 if index is not None else 0
    size = Size.of_torch(spec["input_shapes"][0])
    network: dict[str, Any] = {"version": attrs.get("version"), "layout": size.layout,
                               "followers": after}
    if size.layout == IMAGE:
        network.update(height=size.height, width=size.width)
    elif size.layout == SEQUENCE:
        network["steps"] = size.steps
    else:
        network["features"] = size.channels
    return {**network, **own}


SOURCES = {
    "onnx": DrawSource(("harness/sources/onnx/*",), _layer_axes, _layer_specs("onnx"),
                       _test_axis, _spec_attrs),
    "keras": DrawSource(("harness/sources/keras/kinds/*",), _layer_axes,
                        _layer_specs("keras"), _test_axis, _spec_attrs),
    # A MATLAB kind is drawn in each file format that can hold it (its axes).
    "mat": DrawSource(("harness/sources/mat/*",), lambda kind: mat_kinds.get(kind.name).formats,
                      mat_specs, lambda entry: entry["spec"]["attrs"]["format"], mat_values),
}


# -- drawing many, one at a time ------------------------------------------------------------

def draw_many(cov, source: str, kind_name: str, axis: str, count: int) -> list[Draw]:
    """``count`` derandomised draws of a kind along an axis, each with the arcs it added."""
    kind = registry.get(kind_name, source)
    strategy = SOURCES[source].specs(kind_name, axis)
    draws: list[Draw] = []
    before = executed_arcs(cov.get_data())

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data) -> None:
        nonlocal before
        spec = data.draw(strategy)
        now = executed_arcs(cov.get_data())
        draws.append(Draw(kind_name, axis, spec.to_json(), now - before,
                          spec_pairs(kind, spec.to_json(), axis)))
        before = now

    with without_local_constants():
        collect()
    return draws


def merged_draws(draws: list[Draw]) -> list[Draw]:
    """One draw per spec: a spec drawn twice (along two axes, or twice in one run) is one
    case, reaching what either drawing reached. A draw is credited only with the arcs no
    draw before it took in the process, so a repeat can hold arcs its first drawing did not."""
    merged: dict[str, Draw] = {}
    for draw in draws:
        if (first := merged.get(_key(draw))) is None:
            merged[_key(draw)] = draw
        else:
            first.arcs |= draw.arcs
            first.pairs |= draw.pairs
    return list(merged.values())


def greedy_cover(candidates: list[Draw], reached_arcs: set, reached_pairs: set,
                 pairs_too: bool = True, limit: int | None = None) -> list[Draw]:
    """The fewest draws (greedily) that reach the branches, and with ``pairs_too`` the pairs,
    that ``reached_*`` miss: branches first (a draw that reaches a branch beats any number
    of pairs), at most ``limit`` draws, in the order chosen."""
    chosen: list[Draw] = []
    arcs, pairs = set(reached_arcs), set(reached_pairs)

    def gain(draw: Draw) -> tuple[int, int]:
        return len(draw.arcs - arcs), len(draw.pairs - pairs) if pairs_too else 0

    pool = list(candidates)
    while pool and (limit is None or len(chosen) < limit):
        best = max(pool, key=gain)
        if not any(gain(best)):
            break
        best.new_arcs, best.new_pairs = best.arcs - arcs, (best.pairs - pairs) if pairs_too \
            else set()
        chosen.append(best)
        arcs |= best.arcs
        pairs |= best.pairs
        pool.remove(best)
    return chosen


def ci_part(chosen: list[Draw], corpus_pairs: set, admitted: set, goal: float) -> list[Draw]:
    """The covering cases the ci profile runs: every case that reaches a branch, and each
    kind's cases in the greedy order until the kind holds ``goal`` percent of its admitted
    pairs (a kind's own greedy order: no case of another kind holds its pairs)."""
    wanted: dict[str, int] = defaultdict(int)
    for pair in admitted:
        wanted[pair[0]] += 1
    held: dict[str, set] = defaultdict(set)
    for pair in corpus_pairs & admitted:
        held[pair[0]].add(pair)
    part = []
    for draw in chosen:
        short = any(len(held[kind]) < math.ceil(goal / 100.0 * wanted[kind])
                    for kind in {pair[0] for pair in draw.new_pairs})
        if draw.new_arcs or short:
            part.append(draw)
            for pair in draw.pairs & admitted:
                held[pair[0]].add(pair)
    return part


def pairs_curve(chosen: list[Draw], corpus_pairs: set, admitted: set,
                steps=(25, 50, 100, 200, 400, 800)) -> dict[str, float]:
    """{cases: pairs percent} after the first n covering cases, in the order chosen: what a
    smaller budget would reach."""
    curve, pairs = {}, set(corpus_pairs)
    for n, draw in enumerate(chosen, start=1):
        pairs |= draw.pairs
        if n in steps or n == len(chosen):
            curve[str(n)] = _percent(len(pairs & admitted), len(admitted))
    return curve


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 100.0


def measure(source: str, suite: str, profile: str, examples: int,
            kinds: list[str] | None = None, pairs_too: bool = True,
            ci_goal: float | None = None,
            examples_for: dict[str, int] | None = None,
            golden: bool = True) -> dict[str, Any]:
    """The figures, the covering cases and what stays unreached (the module docstring).
    ``ci_goal``: the ci profile runs only the covering cases that take each kind to this
    percent of its admitted pairs, and those reaching a branch (a source whose cases each
    cost a conversion); a profile that draws more examples runs them all. ``examples_for``
    draws the kinds it names more often than ``examples``. With ``golden``, the cases the
    golden store needs beside its corpus to hold every reached branch
    (``golden_branch_cases``)."""
    import coverage

    drawing = SOURCES[source]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        record_corpus(source, suite, profile, folder, kinds)
        corpus = [json.loads(line) for line in
                  (folder / "ci-specs.jsonl").read_text(encoding="utf-8").splitlines()]
        ci_cov = coverage.Coverage(data_file=str(folder / "ci.coverage"))
        ci_cov.load()
        data = ci_cov.get_data()
        # What the tests drew, not what importing and setting up the suite ran.
        ci_arcs = executed_arcs(data, [c for c in data.measured_contexts() if c])

    include = [str(ROOT / pattern) for pattern in drawing.files]
    stored_arcs = golden_corpus_arcs(source, include, kinds) if golden else None
    cov = coverage.Coverage(branch=True, include=include, data_file=None)
    cov.start()
    try:
        # The kinds the profile draws (a slow kind the ci profile leaves out is not its draw
        # code), or those asked for.
        names = kinds or sorted({entry["spec"]["kind"] for entry in corpus})
        candidates: list[Draw] = []
        for name in names:
            for axis in drawing.axes(registry.get(name, source)):
                candidates.extend(draw_many(cov, source, name, axis,
                                            (examples_for or {}).get(name, examples)))
    finally:
        cov.stop()
    drawn_arcs = executed_arcs(cov.get_data())
    candidates = merged_draws(candidates)
    files = sorted({path for path, _a, _b in drawn_arcs | ci_arcs})
    branches = Branches(cov, files, drawn_arcs | ci_arcs)

    corpus_pairs: set = set()
    for entry in corpus:
        spec = entry["spec"]
        if names and spec["kind"] not in names:
            continue
        kind = registry.get(spec["kind"], source)
        corpus_pairs |= spec_pairs(kind, spec, drawing.axis_of(entry))
    admitted_pairs = corpus_pairs.union(*(d.pairs for d in candidates))
    reached = branches.of(ci_arcs)
    for draw in candidates:
        draw.arcs = branches.of(draw.arcs)
    chosen = greedy_cover(candidates, reached, corpus_pairs, pairs_too)
    with_cover = reached.union(*(d.arcs for d in chosen))
    pairs_with = corpus_pairs.union(*(d.pairs for d in chosen))
    ci_figures, pairs_ci, in_ci = {}, None, None
    if ci_goal is not None:
        part = ci_part(chosen, corpus_pairs, admitted_pairs, ci_goal)
        in_ci = {id(d) for d in part}
        pairs_ci = corpus_pairs.union(*(d.pairs for d in part))
        ci_figures = {"ci_cover": {
            "cases": len(part),
            "goal_percent": ci_goal,
            "branches_percent": _percent(len(reached.union(*(d.arcs for d in part))),
                                         len(branches.possible)),
            "pairs_percent": _percent(len(pairs_ci & admitted_pairs), len(admitted_pairs))}}
    stored = {}
    if stored_arcs is not None:
        held = branches.of(stored_arcs)
        needed, not_held = golden_branch_cover(candidates, held, with_cover,
                                               branches.possible, source_refusal())
        stored = {"golden_branch_cases": [
                      {"kind": d.kind, "axis": d.axis, "spec": d.spec,
                       "branches": _arc_names(d.new_arcs)} for d in needed],
                  "golden_figures": {
                      "branches_reached": len(with_cover),
                      "by_golden_corpus": len(held & with_cover),
                      "with_golden_branch_cases": len(with_cover) - len(not_held),
                      "not_held": [{"branch": _arc_names([arc])[0], "reason": why}
                                   for arc, why in sorted(not_held.items())]}}
    rank = {id(d): n for n, d in enumerate(chosen, start=1)}

    def case(d: Draw) -> dict[str, Any]:
        entry = {"kind": d.kind, "axis": d.axis, "spec": d.spec, "rank": rank[id(d)]}
        if d.new_arcs:
            entry["branches"] = _arc_names(d.new_arcs)
        if in_ci is not None:
            entry["ci"] = id(d) in in_ci
        return entry

    return {
        "source": source,
        "profile": profile,
        "suite": suite,
        "examples_per_axis": examples,
        "examples_for": examples_for or {},
        "goal": "branches and pairs" if pairs_too else "branches",
        "figures": {**_figures(branches, reached, with_cover, admitted_pairs, corpus_pairs,
                               pairs_with, pairs_ci), **ci_figures},
        "unreached": _unreached(branches, with_cover, admitted_pairs, pairs_with, examples,
                                pairs_too, pairs_ci, ci_goal),
        "pairs_curve": pairs_curve(chosen, corpus_pairs, admitted_pairs),
        **({"ci_goal": ci_goal, "ci_cases": len(in_ci)} if in_ci is not None else {}),
        **stored,
        # rank: the order the greedy cover chose the case in; ci: whether the ci profile
        # runs it (ci_part); branches: those it reached first.
        "cases": [case(d) for d in sorted(chosen, key=lambda d: (d.kind, d.axis, rank[id(d)]))],
    }


def golden_branch_cover(candidates: list[Draw], held: set, with_cover: set, possible: set,
                        refusal: Callable[[dict[str, Any]], str | None]):
    """(the draws the golden store needs beside its corpus to hold every branch in
    ``with_cover``, {branch it cannot hold: why}). The store keeps a case only where its
    source reads it (a spec onnxruntime refuses has no expected outputs), so a chosen draw
    the source refuses (``refusal`` says why, else None) is set aside and the branches are
    covered again without it. The cover's own draws keep their gains: this works on copies."""
    refused: dict[str, str] = {}
    while True:
        pool = [replace(d) for d in candidates if _key(d) not in refused]
        # Only what the corpus and the cover reach is wanted.
        needed = greedy_cover(pool, held | (possible - with_cover), set(), pairs_too=False)
        newly = {_key(d): why for d in needed if (why := refusal(d.spec)) is not None}
        if not newly:
            break
        refused.update(newly)
    left = with_cover - held.union(*(d.arcs for d in needed))
    reasons: dict[tuple, str] = {}
    for d in candidates:
        for arc in (d.arcs & left) if _key(d) in refused else ():
            reasons.setdefault(arc, f"every draw reaching it is refused by its source, as "
                                    f"{d.kind} {json.dumps(d.spec['attrs'], sort_keys=True)}: "
                                    f"{refused[_key(d)]}")
    return needed, {arc: reasons.get(arc, "reached by the ci corpus only: no search draw "
                                          "reached it") for arc in left}


def _key(draw: Draw) -> str:
    return json.dumps(draw.spec, sort_keys=True)


def source_refusal() -> Callable[[dict[str, Any]], str | None]:
    """Why the source cannot read a spec (its first line), or None: what `parity golden
    update` would skip. One harness reads every spec, and each spec is read once (the golden
    cover asks again of the draws it keeps each round)."""
    harness = Harness(known_issues=[], diagnose=False)

    @functools.cache
    def refusal(key: str) -> str | None:
        try:
            harness.read_source(LayerSpec.from_json(json.loads(key)))
        except SourceError as exc:
            return str(exc).splitlines()[0][:300]
        return None

    return lambda spec: refusal(json.dumps(spec, sort_keys=True))


def _arc_names(arcs) -> list[str]:
    return [f"{os.path.relpath(path, ROOT)}:{start}->{end}" for path, start, end in sorted(arcs)]


def golden_corpus_arcs(source: str, include: list[str], kinds: list[str] | None):
    """The arcs that drawing the golden store's corpus of ``source`` takes
    (``harness.golden.update.corpus`` with the source's sizes, ``CORPUS``)."""
    import coverage

    per_kind, per_axis = CORPUS[source]
    cov = coverage.Coverage(branch=True, include=include, data_file=None)
    cov.start()
    try:
        with without_local_constants():
            golden_corpus(per_kind, kinds, source=source, per_axis=per_axis)
    finally:
        cov.stop()
    return executed_arcs(cov.get_data())


def _figures(branches, reached, with_cover, admitted_pairs, corpus_pairs, pairs_with,
             pairs_ci=None):
    per_kind: dict[str, dict[str, int]] = defaultdict(
        lambda: {"admitted": 0, "corpus": 0, "with_cover": 0,
                 **({"ci_cover": 0} if pairs_ci is not None else {})})
    for pair in admitted_pairs:
        row = per_kind[pair[0]]
        row["admitted"] += 1
        row["corpus"] += pair in corpus_pairs
        row["with_cover"] += pair in pairs_with
        if pairs_ci is not None:
            row["ci_cover"] += pair in pairs_ci
    total = len(branches.possible)
    return {
        "branches": {"total": total, "corpus": len(reached),
                     "corpus_percent": _percent(len(reached), total),
                     "with_cover": len(with_cover),
                     "with_cover_percent": _percent(len(with_cover), total)},
        "pairs": {"admitted": len(admitted_pairs), "corpus": len(corpus_pairs & admitted_pairs),
                  "corpus_percent": _percent(len(corpus_pairs & admitted_pairs),
                                             len(admitted_pairs)),
                  "with_cover": len(pairs_with & admitted_pairs),
                  "with_cover_percent": _percent(len(pairs_with & admitted_pairs),
                                                 len(admitted_pairs))},
        "per_kind": {kind: per_kind[kind] for kind in sorted(per_kind)},
    }


def _unreached(branches, with_cover, admitted_pairs, pairs_with, examples: int,
               pairs_too: bool, pairs_ci=None, ci_goal=None) -> list[dict[str, Any]]:
    missing = [{"branch": f"{os.path.relpath(path, ROOT)}:{start}->{end}", "reason": reason}
               for (path, start, end), reason in sorted(branches.marked.items())]
    for path, start, end in sorted(branches.possible - with_cover):
        missing.append({"branch": f"{os.path.relpath(path, ROOT)}:{start}->{end}",
                        "reason": f"its function ran, but no draw took this branch, in the "
                                  f"corpus or in {examples} draws per kind and axis (more "
                                  f"for the kinds examples_for names)"})
    for kind, attr, value, axis in sorted(admitted_pairs - pairs_with):
        missing.append({"pair": f"{kind}.{attr}={value} @ {axis}",
                        "reason": "the cover reaches branches only: each case of this source "
                                  "costs a conversion" if not pairs_too else
                                  "no covering draw holds it"})
    for kind, attr, value, axis in sorted((admitted_pairs & pairs_with) - (pairs_ci or set())
                                          if pairs_ci is not None else ()):
        missing.append({"pair": f"{kind}.{attr}={value} @ {axis}", "profile": "ci",
                        "reason": f"a covering case holds it, which only a profile drawing "
                                  f"more than ci runs: the ci profile runs a kind's cases "
                                  f"until it holds {ci_goal:g}% of its pairs"})
    return missing


def _still_held(out: Path, result: dict[str, Any]) -> dict[str, str]:
    """The cases the previous file held (failing where no known issue pins them yet) that
    the new cover still holds: a refresh keeps them out of the run until they are pinned."""
    try:
        held = json.loads(out.read_text(encoding="utf-8")).get("held", {})
    except (OSError, ValueError):
        return {}
    ids = {LayerSpec.from_json(case["spec"]).case_id for case in result["cases"]}
    return {case_id: why for case_id, why in held.items() if case_id in ids}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.draw_cover",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, choices=sorted(SOURCES))
    parser.add_argument("--suite", required=True)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--examples", type=int, default=40,
                        help="draws per kind and axis to search for the covering cases")
    parser.add_argument("--kinds", default=None, help="comma-separated kinds (default: all)")
    parser.add_argument("--branches-only", action="store_true",
                        help="cover the branches alone (a source whose cases are costly)")
    parser.add_argument("--ci-goal", type=float, default=None,
                        help="the ci profile runs only the covering cases that take each "
                             "kind to this percent of its pairs, and those reaching a "
                             "branch (a profile drawing more runs them all)")
    parser.add_argument("--no-golden", action="store_true",
                        help="do not measure what the golden store's corpus reaches")
    parser.add_argument("--examples-for", default=None,
                        help="KIND=N,...: draw these kinds N times per axis instead")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    examples_for = {name: int(n) for name, n in
                    (item.split("=") for item in args.examples_for.split(","))} \
        if args.examples_for else None
    prepare_imports()
    if args.source == registry.KERAS:
        register_custom_objects()  # the source reads the golden store's cases
    result = measure(args.source, args.suite, args.profile, args.examples,
                     args.kinds.split(",") if args.kinds else None, not args.branches_only,
                     args.ci_goal, examples_for, golden=not args.no_golden)
    result["held"] = _still_held(Path(args.out), result)
    dropped = _leg_cases_of(Path(args.out))
    Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n",
                              encoding="utf-8")
    figures = result["figures"]
    print(f"{args.source}: " + reach_text({**figures, "cases": len(result["cases"]),
                                           "profile": args.profile, "goal": result["goal"]}))
    if dropped:
        print(f"{args.out}: its {dropped} leg cases were chosen against the cover it held; "
              f"choose them again: python -m harness.tools.leg_cover --cover {args.out}")
    return 0


def _leg_cases_of(path: Path) -> int:
    """How many leg cases (``harness.tools.leg_cover``) the file at ``path`` holds."""
    try:
        return len(json.loads(path.read_text(encoding="utf-8")).get("leg_cases", []))
    except (OSError, ValueError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
