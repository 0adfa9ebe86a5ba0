"""The search: fresh draws of every kind down every path, biased to what finds bugs, run by
isolated worker processes within a wall-clock budget.

**What it draws.** Batch after batch, a ``(source, kind, axis)`` and a Hypothesis seed, both
from the hunt's seed and the batch's number (so a resumed hunt draws the batches after the
last one, never the same again), then a few specs of that kind from the suites' own
strategy (``harness.core.strategies.layer_specs``) under that seed: fresh draws, not the
derandomised ci corpus. Kinds are weighted toward known failures: a kind that a known issue
names weighs more, and more again when that issue holds on a leg of this hunt's paths (bugs
cluster: a converter wrong on one reduction is often wrong on its neighbour). Half the
batches draw along one of the kind's axes (its other dtypes, a free batch, free spatial or
time dimensions); a drawn spec with documented attributes is also run with one of them
left out (the op's or layer's default, which converters often read wrong), and the kinds'
own draws cover the runtime operands (an ONNX op's attribute fed as an input).

**How it runs.** ``jobs`` isolated workers (``harness.run.isolation``: one interpreter each,
killed and restarted on a crash or a hang), each fed by a thread of this process; every core
runs cases. Before each case the clock is checked; a case runs with a timeout of at most the
time left, so a case still running when the budget ends is killed and put back in the queue
for the next hunt.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from harness import sources as source_registry
from harness.converters import PathError, get, parse_paths
from harness.core import axes, known_issues, registry
from harness.core.spec import LayerSpec
from harness.core.strategies import layer_specs, without_local_constants
from harness.hunt import triage
from harness.hunt.state import Group, State
from harness.run.isolation import IsolatedHarness, IsolationError
from harness.upstream import CANDIDATE_PATHS

BATCH = 6  # specs drawn per (kind, axis, seed)
AXIS_SHARE = 0.5  # of the batches drawn along one of the kind's axes
OMIT_SHARE = 0.3  # of the drawn specs also run with one attribute left out
NAMED_WEIGHT = 2.0  # a kind a known issue names
ON_PATH_WEIGHT = 3.0  # ... on a leg of this hunt's paths
CASE_TIMEOUT = 120.0
SOURCES = ("onnx", "keras", "mat")
# Kinds a hunt draws only when named (--kinds): whole networks, minutes and gigabytes a case.
SLOW = frozenset({"slow", "application"})


class HuntError(ValueError):
    """A hunt that cannot start: paths or sources that do not fit; the message says why."""


def plan_paths(converter: str | None, paths: str | None,
               wanted: tuple[str, ...] = SOURCES) -> tuple[list[str], list[str]]:
    """The paths a hunt goes down and the sources it draws from.

    ``paths`` names them; ``converter`` takes every path of the wanted sources that reaches
    it (the ones parity's suites and known issues use, or the source straight into it where
    the converter reads the source's format); neither: every source's default paths."""
    if paths:
        try:
            parsed = parse_paths(paths)
        except PathError as exc:
            raise HuntError(str(exc)) from None
        chosen = [p.name for p in parsed]
    else:
        chosen = []
        for name in wanted:
            try:
                source = source_registry.get(name)
            except KeyError:
                raise HuntError(f"unknown source {name!r}; the sources are "
                                f"{', '.join(SOURCES)}") from None
            known = list(dict.fromkeys([*CANDIDATE_PATHS.get(name, ()), *source.default_paths]))
            if converter is None:
                chosen += list(source.default_paths)
                continue
            try:
                stage = get(converter)
            except PathError as exc:
                raise HuntError(str(exc)) from None
            reach = [p for p in known if converter in p.split(">")[1:]]
            if not reach and stage.source == source.format:
                reach = [f"{name}>{converter}"]
            chosen += reach
        if not chosen:
            raise HuntError(f"no path from {', '.join(wanted)} reaches {converter!r}: name the "
                            f"paths with --paths")
        try:
            parse_paths(",".join(chosen))
        except PathError as exc:
            raise HuntError(str(exc)) from None
    starts = list(dict.fromkeys(p.split(">")[0] for p in chosen))
    drawn = [s for s in starts if s in wanted or paths]
    return chosen, drawn


def kind_weights(sources: list[str], paths: list[str],
                 only: tuple[str, ...] = ()) -> list[tuple[str, str, float]]:
    """Every drawable kind of the sources (or those named in ``only``), weighted toward the
    known issues' kinds."""
    legs = [leg for path in parse_paths(",".join(paths)) for leg in path.legs()]
    named: dict[tuple[str | None, str], float] = {}
    for issue in known_issues.load():
        on_path = any(fnmatch.fnmatchcase(leg, glob) for leg in legs for glob in issue.globs)
        for kind in issue.kinds:
            weight = NAMED_WEIGHT + (ON_PATH_WEIGHT if on_path else 0.0)
            key = (issue.source, kind)
            named[key] = max(named.get(key, 0.0), weight)
    weighted = []
    for source in sources:
        for kind in registry.names(source=source):
            if only and kind not in only:
                continue
            if not only and SLOW & registry.get(kind, source).tags:
                continue  # whole applications: their own suite (suites/applications)
            bonus = max(named.get((source, kind), 0.0), named.get((None, kind), 0.0))
            weighted.append((source, kind, 1.0 + bonus))
    if not weighted:
        raise HuntError(f"no kind of {', '.join(sources)} is named {', '.join(only)} "
                        f"(parity layers lists them)")
    return weighted


def draw_fresh(kind: str, source: str, axis: str | None, n: int, seed: int) -> list[LayerSpec]:
    """Up to ``n`` specs of ``kind`` drawn by its suite strategy under Hypothesis seed
    ``seed`` (not derandomised: each seed draws other cases)."""
    drawn: list[LayerSpec] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(layer_specs(kind, source=source, axis=axis))
    def collect(spec: LayerSpec) -> None:
        drawn.append(spec)

    with without_local_constants():
        collect()
    return list({spec.case_id: spec for spec in drawn}.values())


def omitted(spec: LayerSpec, rng: random.Random) -> LayerSpec | None:
    """The spec with one of its documented attributes left out (its default), or None."""
    try:
        documented = registry.get(spec.kind, spec.source).attribute_domains
    except KeyError:
        return None
    present = sorted(a for a in spec.attrs if a in documented)
    if not present:
        return None
    attr = rng.choice(present)
    return replace(spec, attrs={k: v for k, v in spec.attrs.items() if k != attr})


@dataclass
class Batch:
    number: int
    source: str
    kind: str
    axis: str | None
    seed: int


class Draws:
    """The hunt's stream of specs: the queue a previous hunt left, then batch after batch."""

    def __init__(self, state: State, weights: list[tuple[str, str, float]], pending: list):
        self.state = state
        self.weights = weights
        self.queue: list[LayerSpec] = [LayerSpec.from_json(s) for s in pending]
        self.seen = set(state.seen)
        self.lock = threading.RLock()  # the queue's, and the state's while a case is recorded

    def batch(self, number: int) -> Batch:
        rng = random.Random(f"{self.state.seed}:{number}")
        source, kind, _ = rng.choices(self.weights, [w for *_, w in self.weights])[0]
        names = axes.admitted(registry.get(kind, source)).names
        axis = rng.choice(names) if names and rng.random() < AXIS_SHARE else None
        return Batch(number, source, kind, axis, rng.getrandbits(32))

    def _refill(self) -> None:
        batch = self.batch(self.state.next_batch)
        self.state.next_batch += 1
        try:
            drawn = draw_fresh(batch.kind, batch.source, batch.axis, BATCH, batch.seed)
        except Exception:  # noqa: BLE001 (a strategy that cannot draw here: the next batch)
            self.state.count("batches that drew nothing")
            return
        rng = random.Random(batch.seed)
        for spec in drawn:
            self.queue.append(spec)
            if rng.random() < OMIT_SHARE and (other := omitted(spec, rng)) is not None:
                self.queue.append(other)

    def next(self) -> LayerSpec | None:
        with self.lock:
            for _ in range(1000):
                while self.queue:
                    spec = self.queue.pop(0)
                    if spec.case_id not in self.seen:
                        self.seen.add(spec.case_id)
                        return spec
                self._refill()
            return None

    def put_back(self, spec: LayerSpec) -> None:
        with self.lock:
            self.seen.discard(spec.case_id)
            self.queue.insert(0, spec)


def record(state: State, case) -> list[str]:
    """Adds a case's findings to the state's groups; returns the keys of the groups it met."""
    state.seen.append(case.spec.case_id)
    state.count("cases")
    for leg in case.legs:
        state.count(f"legs {leg.verdict}")
    met = []
    for sig, legs in triage.findings(case):
        group = state.groups.get(sig["key"])
        if group is None:
            group = state.groups[sig["key"]] = Group(
                key=sig["key"], stage=sig["stage"], kind=sig["kind"], source=sig["source"],
                category=sig["category"], fingerprint=sig["fingerprint"], place=sig["place"],
                message=(legs[0].message or "")[:2000],
                first_spec=case.spec.to_json(), first_leg=legs[0].leg)
        if case.spec.case_id not in group.cases:
            group.cases.append(case.spec.case_id)
        for leg in legs:
            if leg.leg not in group.legs:
                group.legs.append(leg.leg)
        met.append(sig["key"])
    return met


class Workers:
    """``jobs`` isolated workers over the hunt's paths, started together."""

    def __init__(self, paths: list[str], jobs: int, plugins: list[str], deadline: float,
                 case_timeout: float = CASE_TIMEOUT, device: str = "cpu",
                 pyproject: Path | None = None):
        self.deadline = deadline
        self.case_timeout = case_timeout
        # judged as the suites judge: the project's tolerance policy (pyproject.toml)
        self.harnesses = [IsolatedHarness(",".join(paths), plugins=plugins, device=device,
                                          pyproject=pyproject,
                                          timeout=case_timeout,
                                          startup_timeout=max(1.0, deadline - time.monotonic()))
                          for _ in range(jobs)]
        for harness in self.harnesses:
            harness.start()

    def run(self, index: int, spec: LayerSpec, until: float | None = None):
        """The case run by worker ``index`` with at most the time left until ``until`` (the
        hunt's deadline by default); None where that time ended first (the case was killed,
        or never started), "invalid" where the run raised (an invalid spec, the worker's own
        error)."""
        harness = self.harnesses[index]
        left = min(self.deadline, until or self.deadline) - time.monotonic()
        if left < 1.0:
            return None
        harness.timeout = min(self.case_timeout, left)
        harness.startup_timeout = left
        try:
            case = harness.run(spec)
        except IsolationError:
            return None
        except Exception:  # noqa: BLE001 (CaseError, SourceError: the draw, not a finding)
            return "invalid"
        if harness.timeout < self.case_timeout and any(
                leg.category == "timeout" for leg in case.legs):
            return None  # killed by the budget, not by its own timeout
        return case

    def close(self) -> None:
        for harness in self.harnesses:
            harness.close()


def search(state: State, draws: Draws, workers: Workers, until: float,
           save: Callable[[], None], progress: Callable[[str], None] = lambda _: None) -> None:
    """Runs drawn cases on every worker until ``until``; the cases the budget cut off go
    back to the queue."""
    lock = draws.lock
    done = [0]

    def loop(index: int) -> None:
        while time.monotonic() < until:
            spec = draws.next()
            if spec is None:
                return
            case = workers.run(index, spec, until)
            if case is None:
                draws.put_back(spec)
                return
            with lock:
                if case == "invalid":
                    state.seen.append(spec.case_id)
                    state.count("cases the harness could not run")
                    continue
                met = record(state, case)
                done[0] += 1
                if met:
                    progress(f"{spec.source}:{spec.kind} {spec.case_id}: "
                             f"{len(met)} new-failure group(s) met")
                if done[0] % 20 == 0:
                    save()

    in_threads(loop, len(workers.harnesses))


def in_threads(loop, count: int) -> None:
    """``loop(i)`` for each i below ``count``, each in a thread of its own (one a worker
    process, which does the work); returns once every one has."""
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
