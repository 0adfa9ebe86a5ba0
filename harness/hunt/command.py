"""``parity hunt``: the search, the triage and the report, within one wall-clock budget.

The budget is split: the search draws and runs cases until half of it, the shrink of the
groups found runs until 65%, and the drafts (each a process of its own: the minimal case run,
its script written and run in a fresh interpreter) take the rest. Every step checks the clock
before it starts and runs with a timeout of the time left, so the hunt ends within its budget
(give or take the few seconds it takes to stop a worker and write the report). What the
budget cut short, a second hunt over the same ``--state`` folder does first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.core import known_issues
from harness.core.plugins import import_modules
from harness.core.records import CaseResult
from harness.core.spec import LayerSpec
from harness.gate.config import policy_path
from harness.hunt import report, search, triage
from harness.hunt import state as hunt_state

SEARCH_SHARE, SHRINK_SHARE = 0.5, 0.65  # of the budget: the search ends, then the shrink
STOP_MARGIN = 3.0  # seconds kept at the end: the last state and the report are written
DEFAULT_STATE = Path("reports/hunt")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``10m``, ``1.5h``."""
    found = _DURATION.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (90, 90s, 10m, 1h)")
    return float(found.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[found.group(2)]


@dataclass
class Options:
    budget: float
    converter: str | None = None
    paths: str | None = None
    sources: tuple[str, ...] = search.SOURCES
    kinds: tuple[str, ...] = ()
    seed: int = 0
    state: Path = DEFAULT_STATE
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    plugins: list[str] = field(default_factory=list)
    case_timeout: float = search.CASE_TIMEOUT
    device: str = "cpu"


def _say(text: str) -> None:
    print(f"parity hunt: {text}", file=sys.stderr, flush=True)


def shrink_groups(state, workers: search.Workers, until: float, save) -> None:
    """Shrinks the groups not shrunk yet, the biggest first, one per worker at a time."""
    todo = [g for g in report.ranked(state.groups, new_only=True)
            if not g.shrink.get("finished")]
    lock = threading.Lock()

    def loop(index: int) -> None:
        while time.monotonic() < until:
            with lock:
                if not todo:
                    return
                group = todo.pop(0)

            def run(spec: LayerSpec, index=index):
                case = workers.run(index, spec, until)
                return case if isinstance(case, CaseResult) else None

            start = LayerSpec.from_json(group.minimal_spec or group.first_spec)
            minimal, how = triage.shrink(start, group.key, run, deadline=until)
            with lock:
                done = group.shrink.get("steps", [])
                group.minimal_spec = minimal.to_json()
                group.shrink = {"runs": group.shrink.get("runs", 0) + how["runs"],
                                "steps": [*done, *how["steps"]], "finished": how["finished"]}
                group.draft = {}  # a new minimal spec: its draft is written again
                save()
            _say(f"shrunk {group.kind} on {group.stage} ({group.category}) in {how['runs']} "
                 f"runs: {minimal.case_id}")

    search.in_threads(loop, len(workers.harnesses))


def draft_groups(state, folder: Path, options: Options, deadline: float, save) -> None:
    """Writes each group's draft in a process of its own, as many at once as jobs."""
    todo = [g for g in report.ranked(state.groups, new_only=True) if not g.draft]
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if not todo:
                    return
                group = todo.pop(0)
            left = deadline - time.monotonic()
            if left < 5:
                return
            path = next(p for p in state.paths if p.split(">")[0] == group.source)
            paths = ",".join(p for p in state.paths if group.first_leg.startswith(p)
                             or p.startswith(group.first_leg)) or path
            command = [sys.executable, "-m", "harness.hunt.drafts", "--state", str(folder),
                       "--group", group.key, "--paths", paths,
                       "--plugins", ",".join(options.plugins), "--device", options.device,
                       "--policy", str(policy_path().resolve()),
                       "--script-timeout", str(max(1.0, left - 2))]
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
            try:
                done = subprocess.run(command, capture_output=True, text=True, env=env,
                                      timeout=left, check=False)
            except subprocess.TimeoutExpired:
                _say(f"no draft for {group.kind} on {group.stage}: the budget ended first")
                continue
            lines = done.stdout.strip().splitlines()
            try:
                summary = json.loads(lines[-1]) if lines else None
            except json.JSONDecodeError:
                summary = None
            if done.returncode != 0 or summary is None:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                _say(f"no draft for {group.kind} on {group.stage}: {tail[0]}")
                continue
            with lock:
                group.draft = summary
                save()
            _say(f"draft {summary['id']}: {summary['line']}")

    search.in_threads(lambda _: loop(), max(1, options.jobs))


def hunt(options: Options) -> dict:
    """Runs one hunt; returns its JSON report."""
    started = time.monotonic()
    deadline = started + options.budget
    import_modules(options.plugins)
    paths, sources = search.plan_paths(options.converter, options.paths, options.sources)
    folder = options.state
    folder.mkdir(parents=True, exist_ok=True)
    state = hunt_state.load(folder, seed=options.seed, paths=paths, sources=sources)
    state.runs += 1
    spent_before = state.spent_s
    draws = search.Draws(state, search.kind_weights(sources, paths, options.kinds), state.pending)

    def save() -> None:
        with draws.lock:
            state.pending = [spec.to_json() for spec in draws.queue]
            state.spent_s = spent_before + time.monotonic() - started
            hunt_state.save(state, folder)

    _say(f"{options.budget:g} s over {', '.join(paths)} with {options.jobs} worker(s); "
         f"state in {folder} (run {state.runs}, {len(state.seen)} cases seen before)")
    workers = search.Workers(paths, options.jobs, options.plugins, deadline,
                             options.case_timeout, options.device, policy_path().resolve())
    try:
        search.search(state, draws, workers, started + SEARCH_SHARE * options.budget, save,
                      _say)
        save()
        _say(f"{state.counts.get('cases', 0)} cases so far, {len(state.groups)} new group(s); "
             f"shrinking")
        shrink_groups(state, workers, started + SHRINK_SHARE * options.budget, save)
    finally:
        workers.close()
        save()
    draft_groups(state, folder, options, deadline - STOP_MARGIN, save)
    issues = known_issues.load()
    for group in state.groups.values():
        group.known = triage.recognised_by(
            LayerSpec.from_json(group.minimal_spec or group.first_spec), group.first_leg,
            group.category, group.message, issues)
    save()
    json_path, html_path = report.write(state, folder, elapsed=time.monotonic() - started,
                                        budget=options.budget)
    _say(f"{len(state.groups)} new group(s); report {html_path}, {json_path}")
    return report.to_json(state, folder, elapsed=time.monotonic() - started,
                          budget=options.budget)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # so that the workers are stopped and the state saved


def cmd_hunt(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    options = Options(
        budget=args.budget, converter=args.converter, paths=args.paths,
        sources=tuple(s.strip() for s in args.sources.split(",") if s.strip()),
        kinds=tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
        seed=args.seed, state=args.state, jobs=args.jobs or (os.cpu_count() or 1),
        plugins=[m.strip() for m in args.plugins.split(",") if m.strip()],
        case_timeout=args.case_timeout, device=args.device)
    try:
        found = hunt(options)
    except (search.HuntError, hunt_state.StateError) as exc:
        print(f"parity hunt: {exc}", file=sys.stderr)
        return 2
    return 1 if found["groups"] else 0


def add_hunt_command(commands) -> None:
    parser = commands.add_parser(
        "hunt", help="search for new converter bugs: fresh draws down every path, new "
                     "failures grouped by root cause, shrunk, drafted as known issues",
        description="Draws fresh cases of every kind down every path within a budget, groups "
                    "the failures no known issue recognises by root cause, shrinks each "
                    "group's case and drafts a known-issue entry with a standalone script "
                    "checked in a fresh process (docs/hunt.md). Exit 1 when it holds new "
                    "groups, 0 when none, 2 on a usage error.")
    parser.add_argument("--budget", type=duration, required=True, metavar="DUR",
                        help="wall-clock budget: 90s, 10m, 1h")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--converter", metavar="NAME",
                       help="every path of the sources that reaches this stage")
    which.add_argument("--paths", metavar="P", help="comma-separated paths")
    parser.add_argument("--sources", default=",".join(search.SOURCES),
                        help="the sources drawn from (default: %(default)s)")
    parser.add_argument("--kinds", default="", metavar="K1,K2",
                        help="draw only these kinds (default: every kind of the sources)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the hunt's seed: its batches and Hypothesis seeds (default 0)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, metavar="DIR",
                        help="where the hunt keeps its state, drafts and report; a second "
                             "hunt over it goes on (default: %(default)s)")
    parser.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                        help="worker processes (default: one per core)")
    parser.add_argument("--plugins", default="", metavar="MODULES",
                        help="modules that register converters, imported in every worker")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the PyTorch legs run (default: %(default)s)")
    parser.add_argument("--case-timeout", type=float, default=search.CASE_TIMEOUT,
                        metavar="S", help="seconds one case may take (default %(default)s)")
    parser.set_defaults(func=cmd_hunt)
