"""Many single-layer Keras cases through one conversion per leg: each case is a branch of one
packed model (``harness.sources.keras.pack``), converted once down the cases' paths, run
once per size, and each branch's outputs judged against its own case's reference with its
own tolerance, as ``Harness.run`` judges the case alone.

Only a pass is taken from the packed run. A case whose branch fails or errs on any leg at
any size, a pack that cannot be built, converted or run, and a case that does not pack are
run alone by ``Harness.run``, so that what a failing case gives (its verdicts, known-issue
xfails, diagnosis and records) is exactly the unpacked run's. A case whose own layer a known
issue names (on its source or any leg) runs alone too: its verdict may be an xfail or a
strict entry's xpass, which only its own run decides, and one refusing branch would sink
the whole pack. (An entry recognised by a node or a message alone decides nothing for a
pass; a failure runs alone anyway.)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from harness.converters import Artifact, get
from harness.core import yardstick
from harness.core.spec import LayerSpec
from harness.run.pipeline import (
    CaseResult,
    Harness,
    LegResult,
    compare_outputs,
    note_missing_yardstick,
    sizes_of,
)
from harness.sources import SourceError
from harness.sources.keras.pack import pack, pack_key, why_unpackable

# Cases per packed model: tf2onnx's time per case falls with the pack's size but a pack that
# cannot convert sends all its cases back to run alone (docs/coverage.md, "Packing").
PACK_SIZE = 16
log = logging.getLogger(__name__)
# A branch's layer, as a converter's or runtime's message names its nodes (``pack``'s names).
BRANCH_NAME = re.compile(r"(?:^|[/'\" ])b(\d+)_[a-z]")


def run_packed(harness, specs: list[LayerSpec], *, run: Callable[[LayerSpec], CaseResult],
               record: Callable[[CaseResult], CaseResult] | None = None,
               size: int = PACK_SIZE) -> list[CaseResult]:
    """Every case's result, in the order of ``specs``: packed where the case packs and
    passes packed (given to ``record``), else ``run(spec)`` (``Harness.run`` or the parity
    fixture's ``run``, which records)."""
    results: dict[int, CaseResult] = {}
    groups: dict[tuple, list[tuple[int, LayerSpec, object]]] = {}
    for n, spec in enumerate(specs):
        reading = _packable_reading(harness, spec)
        if reading is not None:
            key = (*pack_key(spec), tuple(p.name for p in harness.resolve(spec).paths))
            groups.setdefault(key, []).append((n, spec, reading))
    for members in groups.values():
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            passed = run_pack(harness, [spec for _, spec, _ in chunk],
                              [reading for _, _, reading in chunk])
            for (n, _, _), result in zip(chunk, passed):
                if result is not None:
                    results[n] = record(result) if record is not None else result
    return [results[n] if n in results else run(spec) for n, spec in enumerate(specs)]


def _packable_reading(harness, spec: LayerSpec):
    """The case's source reading where it can go into a pack, else None."""
    if not isinstance(harness, Harness) or why_unpackable(spec) is not None:
        return None
    if getattr(harness, "observers", ()):
        return None  # those who watch a run (harness.run.hooks) see each case go through it
    case = harness.resolve(spec)
    if [p.name for p in case.paths] != [p.name for p in harness.paths_for(case.start)]:
        return None  # a case the run extends (torch_end) or sends down paths of its own
    legs = {case.start, *(leg for path in case.paths for leg in path.legs())}
    if any(names_layer(issue, spec, leg) for issue in harness.known_issues for leg in legs):
        return None
    try:
        reading = harness.read_source(spec)
    except SourceError:
        return None  # its own run says what the source did
    if reading.native is not None or reading.roots or any(
            len(entry) > 4 and entry[4] is not None for entry in reading.more):
        return None  # read twice (a twin, XLA): its source leg is its own run's
    return reading


def names_layer(issue, spec: LayerSpec, leg: str) -> bool:
    """Whether a known issue names the case's own layer on ``leg`` (by kind or attribute
    values, or strictly): one that a message or an axis alone recognises decides nothing for
    a passing leg."""
    return bool(issue.strict or issue.kind or issue.attrs) and issue.matches_directly(spec, leg)


def run_pack(harness: Harness, specs: list[LayerSpec], readings) -> list[CaseResult | None]:
    """Per case, its result where every leg passed at every size in the packed run, else
    None (the case is to run alone). ``readings``: each case's source reading.

    A stage that refuses the pack, or a runner that cannot run what it made, is tried again
    on each half of the branches (the ONNX model cut to those branches' inputs and outputs,
    or a Keras model packed anew), down to the one case that fails, which runs alone."""
    pack_ = _Pack(harness, specs, readings)
    try:
        source = pack_.keras(list(range(len(specs))))
    except Exception as exc:
        log.info("%d cases run alone: their pack does not build: %s", len(specs), exc)
        return [None] * len(specs)
    case = harness.resolve(specs[0])
    pack_.walk(case.start, source, list(range(len(specs))))
    results: list[CaseResult | None] = []
    for i, (spec, reading) in enumerate(zip(specs, readings)):
        if i in pack_.failed:
            results.append(None)
            continue
        result = CaseResult(spec, [pack_.legs[i][leg] for leg in pack_.order if leg in pack_.legs[i]],
                            {"build": pack_.build})
        if reading.yardstick is None:
            note_missing_yardstick(result, yardstick.missing_reason(spec))
        results.append(result)
    return results


class _Pack:
    """One pack's run: each leg converted once for the branches it holds, split on a refusal."""

    def __init__(self, harness: Harness, specs, readings):
        self.harness, self.specs, self.readings = harness, specs, readings
        self.sizes = [sizes_of(r.inputs, r.reference, None, r.more, r.yardstick) for r in readings]
        self.paths = harness.resolve(specs[0]).paths
        self.order = list(dict.fromkeys(leg for path in self.paths for leg in path.legs()))
        self.stage_of = {leg: stage for path in self.paths
                         for leg, stage in zip(path.legs(), path.stages)}
        self.path_of = {leg: path.name for path in self.paths[::-1] for leg in path.legs()}
        self.legs: list[dict[str, LegResult]] = [{} for _ in specs]
        self.failed: set[int] = set()
        self.build = 0.0
        self.counts: tuple[int, ...] = ()

    def keras(self, branches: list[int]) -> Artifact:
        started = time.perf_counter()
        packed = pack([self.specs[i] for i in branches],
                      [self.readings[i].artifact.model for i in branches], branches)
        if not self.counts:
            self.counts = packed.outputs_per_branch
        self.build += (time.perf_counter() - started) / len(self.specs)
        return Artifact("keras", packed.model, [f"input_{i}" for i in range(len(branches))])

    def options(self, branches: list[int]):
        first = [self.sizes[i] for i in branches]
        return replace(self.harness.options, device=self.harness.device,
                       example_inputs=tuple(size[0].inputs[0] for size in first),
                       input_shapes=tuple(tuple(tuple(s.shapes[0]) for s in at)
                                          for at in zip(*first)))

    def walk(self, parent_leg: str, parent: Artifact, branches: list[int]) -> None:
        """Every leg that starts from ``parent`` (holding ``branches``), and the legs below."""
        for leg in self.order:
            if leg.rsplit(">", 1)[0] == parent_leg:
                self.leg(leg, parent, branches)

    def leg(self, leg: str, parent: Artifact, branches: list[int]) -> None:
        """Converts ``parent`` down ``leg``; a refusal tries again on parts of the branches."""
        t0 = time.perf_counter()
        try:
            artifact = get(self.stage_of[leg]).convert(parent, self.options(branches))
        except Exception as exc:
            log.info("%s refused %d branches: %s", leg, len(branches),
                     f"{type(exc).__name__}: {exc}"[:300])
            for part in self.parts(branches, exc):
                sub = self.cut(parent, branches, part)
                if sub is not None:
                    self.leg(leg, sub, part)
            return
        self.judge(leg, parent, artifact, branches, (time.perf_counter() - t0) / len(branches))

    def judge(self, leg: str, parent: Artifact, artifact: Artifact, branches: list[int],
              convert: float) -> None:
        """Runs what ``leg`` made at every size and judges each branch; where it cannot run,
        the part that can is cut out of it (an ONNX model) or converted again."""
        runs = []
        try:
            for k in range(len(self.sizes[branches[0]])):
                t1 = time.perf_counter()
                outputs = self.harness.runner(artifact.format).run(
                    artifact, [self.sizes[i][k].inputs[0] for i in branches])
                counts = [self.counts[i] for i in branches]
                if len(outputs) != sum(counts):
                    raise ValueError(f"{len(outputs)} outputs for {sum(counts)}")
                runs.append((_split(outputs, counts),
                             (time.perf_counter() - t1) / len(branches)))
        except Exception as exc:
            log.info("%s cannot run %d branches: %s", leg, len(branches),
                     f"{type(exc).__name__}: {exc}"[:300])
            for part in self.parts(branches, exc):
                if artifact.format == "onnx":
                    sub = self.cut(artifact, branches, part)
                    if sub is not None:
                        self.judge(leg, parent, sub, part, convert)
                else:
                    sub = self.cut(parent, branches, part)
                    if sub is not None:
                        self.leg(leg, sub, part)
            return
        stage = self.stage_of[leg]
        base = {"path": self.path_of[leg], "leg": leg, "stage": stage,
                "runner": self.harness.runner(get(stage).target).name}
        for n, i in enumerate(branches):
            result = _branch_leg(self.harness, self.specs[i], base, self.sizes[i],
                                 [(split[n], run_time) for split, run_time in runs], convert,
                                 len(branches))
            if result is None:
                self.failed.add(i)
            else:
                self.legs[i][leg] = result
        self.walk(leg, artifact, branches)

    def parts(self, branches: list[int], exc: Exception) -> list[list[int]]:
        """The parts of ``branches`` to try again after ``exc``: all but the branches its
        message names (by their layers' names), else each half; a lone branch runs alone."""
        named = {int(n) for n in BRANCH_NAME.findall(str(exc))} & set(branches)
        if not named and len(branches) > 1:
            half = len(branches) // 2
            return [branches[:half], branches[half:]]
        self.failed.update(named or branches)
        rest = [i for i in branches if i not in named]
        return [rest] if rest and named else []

    def cut(self, artifact: Artifact, branches: list[int], part: list[int]) -> Artifact | None:
        """``artifact`` (holding ``branches``) cut down to the branches in ``part``: a Keras
        model packed anew, an ONNX model cut to their inputs and outputs; None (the part
        runs alone) for what cannot be cut."""
        try:
            if artifact.format == "keras":
                return self.keras(part)
            if artifact.format != "onnx":
                raise ValueError(f"a {artifact.format} artifact cannot be cut")
            import onnx.utils

            outputs = _split([o.name for o in artifact.model.graph.output],
                             [self.counts[i] for i in branches])
            keep = [branches.index(i) for i in part]
            names = [artifact.input_names[n] for n in keep]
            model = onnx.utils.Extractor(artifact.model).extract_model(
                names, [name for n in keep for name in outputs[n]])
            return Artifact("onnx", model, names, dict(artifact.meta))
        except Exception as exc:
            log.info("%d branches run alone: their pack cannot be cut: %s", len(part), exc)
            self.failed.update(part)
            return None


def _split(values: list, counts: list[int]) -> list[list]:
    parts, start = [], 0
    for count in counts:
        parts.append(list(values[start:start + count]))
        start += count
    return parts


def _branch_leg(harness, spec, base, sizes, runs, convert: float, packed: int) -> LegResult | None:
    """One case's leg from its branch's outputs at each size, as ``Harness._run_and_compare``
    gives it for a pass (the widest pass over the sizes), or None where any size fails."""
    tolerance = harness.policy.for_spec(spec, base["leg"], harness.device)
    passes = []
    for n, (size, (outputs, run_time)) in enumerate(zip(sizes, runs)):
        t2 = time.perf_counter()
        comparisons = compare_outputs([np.asarray(o) for o in outputs], size.reference,
                                      tolerance)
        if not all(c.passed for c in comparisons):
            return None
        widest = max(comparisons, key=lambda c: c.metrics.get("max_abs", 0.0))
        metrics = dict(widest.metrics)
        if size.yardstick is not None:
            measured = yardstick.measure(outputs, size.reference, size.yardstick)
            if measured is not None:
                metrics["yardstick"] = measured
                metrics["judged_by"] = "tolerance"
        if n:
            metrics["at_shapes"] = [list(s) for s in size.shapes]
        passes.append(LegResult(
            **base, verdict="pass", metrics=metrics,
            outputs=[c.metrics for c in comparisons] if len(comparisons) > 1 else [],
            tolerance=tolerance,
            timing={"convert": convert, "run": run_time,
                    "compare": time.perf_counter() - t2},
            note=f"packed: converted once with {packed - 1} other cases" if not n else "",
        ))
    widest = max(passes, key=lambda leg: (leg.metrics or {}).get("max_abs", 0.0))
    if widest is not passes[0] and "yardstick" in (passes[0].metrics or {}):
        widest.metrics.setdefault("yardstick", passes[0].metrics["yardstick"])
    widest.note = passes[0].note
    widest.timing = {"convert": convert, "run": sum(r for _, r in runs),
                     "compare": sum(leg.timing["compare"] for leg in passes)}
    return widest
