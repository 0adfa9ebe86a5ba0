"""Golden replay speed: cases per second that ``suites/golden`` replays.

In one process (the default): loads the store's manifest once, then for each case (every
case, or ``--limit`` of them spread over the store) does what
``suites/golden/test_golden.py::test_golden_case`` does through the ``parity`` fixture:
``golden.load_case`` (checksums verified), the case's stored artifacts, ``Case.replay`` with
the suite's harness (``threads=1``, as a pytest-xdist worker runs it), and its result
records. The first ``--warmup`` cases pay the imports and the runners' first sessions,
untimed. ``--cache cold`` gives the harness an empty stage cache folder, as a first pytest run
has (every run and conversion written), ``--cache warm`` one the warm-up round filled with
every timed case (the runs and conversions read back), ``--cache none`` (the default) none.
Prints the rate in wall and CPU time with the CPU model. ``--processes N`` replays in N
processes at once (the timed cases dealt out between them, each process warmed up on its own,
all timed from one start): the replay's rate on N cores, as ``pytest -n N`` workers replay
once they have started, without pytest's start-up and collection (``--pytest`` times those).

``--pytest`` times the suite itself instead, as users run it: ``pytest suites/golden -k
test_golden_case -n 2 --hypothesis-profile ci`` in a subprocess on an empty stage cache folder
(interpreters' start-up, collection, reports and all), and prints cases per second of wall
time and per CPU second (pytest and its workers). ``--against REF`` runs REF's tree the same
way, alternating, and compares the two trees' records verdict for verdict.

    python benchmarks/bench_golden.py [--limit 300] [--cache cold] [--profile out.prof]
    python benchmarks/bench_golden.py --processes 2 [--cache cold]
    python benchmarks/bench_golden.py --pytest [--against main --rounds 2]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.core.selection import parse_shard

ROOT = Path(__file__).resolve().parents[1]
SELECTION = "test_golden_case"


def replay_all(store, case_ids, harness) -> int:
    from harness import golden
    from harness.results import result_records

    records = 0
    for case_id in case_ids:
        case = golden.load_case(store, case_id)
        if not case.stored_artifacts():
            continue
        result = case.replay(harness)
        records += len(result_records(result, run_id="bench", shard=None, device="cpu",
                                      test=case_id, hypothesis=None,
                                      golden={"provenance": case.provenance, "drift": {}}))
    return records


def in_process(args, folder: Path) -> int:
    from harness.core.frameworks import prepare_imports

    prepare_imports()
    from harness import golden
    from harness.core.machine import cpu_model
    from harness.run.pipeline import Harness
    from harness.run.stage_cache.cache import open_cache

    root = golden.default_root()
    store = golden.read_manifest(root)
    ids = sorted(store.cases)
    if args.limit:
        step = max(1, len(ids) // args.limit)
        ids = ids[::step][: args.limit]
    cache = open_cache("none" if args.cache == "none" else folder / "cache")
    harness = Harness(threads=1, cache=cache)
    timed = ids[args.warmup:]
    if args.part:
        index, count = args.part
        timed = timed[index - 1::count]
    replay_all(store, ids if args.cache == "warm" else ids[: args.warmup], harness)
    if args.part:
        return timed_part(store, timed, harness, folder, args.part)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    records = replay_all(store, timed, harness)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"CPU: {cpu_model()}")
    print(f"  {len(timed)} cases ({records} records) in {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"stage cache {args.cache}")
    print(f"  {len(timed) / wall:.1f} cases/s wall, {len(timed) / cpu:.1f} cases/s per CPU "
          f"second (one process; two workers: about {2 * len(timed) / cpu:.0f} cases/s)")
    return 0


def timed_part(store, timed, harness, folder: Path, part: tuple[int, int]) -> int:
    """One of ``--processes`` N: waits until all N are warmed up, replays its share and prints
    its figures as JSON for the parent."""
    (folder / f"ready-{part[0]}").touch()
    while len(list(folder.glob("ready-*"))) < part[1]:
        time.sleep(0.01)
    start, cpu = time.time(), time.process_time()
    records = replay_all(store, timed, harness)
    print(json.dumps({"cases": len(timed), "records": records, "start": start,
                      "end": time.time(), "cpu": time.process_time() - cpu}))
    return 0


def in_processes(args, folder: Path) -> int:
    """``--processes N``: N copies of the one-process replay at once, timed from one start."""
    from harness.core.machine import cpu_model

    command = [sys.executable, __file__, "--limit", str(args.limit), "--warmup",
               str(args.warmup), "--cache", args.cache, "--folder", str(folder)]
    children = [subprocess.Popen([*command, "--part", f"{i}/{args.processes}"],
                                 stdout=subprocess.PIPE, text=True)
                for i in range(1, args.processes + 1)]
    parts = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            print(f"a replaying process failed (exit {child.returncode})", file=sys.stderr)
            return 1
        parts.append(json.loads(out.strip().splitlines()[-1]))
    cases = sum(p["cases"] for p in parts)
    wall = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    cpu = sum(p["cpu"] for p in parts)
    print(f"CPU: {cpu_model()} ({os.cpu_count()} CPUs)")
    print(f"  {cases} cases ({sum(p['records'] for p in parts)} records) in {args.processes} "
          f"processes at once: {wall:.1f} s wall, {cpu:.1f} s CPU, stage cache {args.cache}")
    print(f"  {cases / wall:.1f} cases/s wall on {args.processes} processes, "
          f"{cases / cpu:.1f} cases/s per CPU second")
    return 0


def main_job_module():
    """benchmarks/bench_main_job.py, which runs a pytest command and compares records."""
    spec = importlib.util.spec_from_file_location("bench_main_job",
                                                  ROOT / "benchmarks" / "bench_main_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases_of(run: dict) -> int:
    return sum(run["outcome"].get(what, 0)
               for what in ("passed", "failed", "skipped", "xfailed", "xpassed", "error"))


def through_pytest(args, folder: Path) -> int:
    bench = main_job_module()
    suites, extra = ["suites/golden"], []
    selection = SELECTION + (f" and ({args.selection})" if args.selection else "")
    print(f"golden replay through pytest: pytest suites/golden -k {selection!r} -n "
          f"{args.workers} --hypothesis-profile ci, each run on an empty stage cache; "
          f"{bench.cpu_model()} ({os.cpu_count()} CPUs)", flush=True)
    if args.against:
        figures = bench.against(args.against, args.rounds, suites, selection, args.workers,
                                folder)
        for side in ("ref", "head"):
            name = args.against if side == "ref" else "this tree"
            runs = figures["runs"][side]
            show(name, statistics.median(cases_of(r) for r in runs),
                 statistics.median(r["wall_s"] for r in runs),
                 statistics.median(r["cpu_s"] for r in runs), "(medians)")
        compared, verdicts = figures["records"], figures["verdicts"]
        print(f"  this tree / {args.against}: cpu {figures['ratio_cpu']}, wall "
              f"{figures['ratio_wall']}")
        print(f"  records: {args.against} {compared['ref']}, this tree {compared['head']}, "
              f"missing here {compared['missing']}, verdicts differing "
              f"{verdicts['differing']}")
        return 1 if compared["missing"] or verdicts["differing"] else 0
    for round_ in range(args.rounds):
        run = bench.main_job(suites, selection, args.workers, folder / f"cache-{round_}",
                             folder / f"reports-{round_}", None, extra)
        show(f"run {round_}", cases_of(run), run["wall_s"], run["cpu_s"],
             ", ".join(f"{n} {what}" for what, n in run["outcome"].items()))
    return 0


def show(name: str, cases: float, wall: float, cpu: float, note: str) -> None:
    print(f"  {name:<10} {cases:.0f} cases in {wall:.1f} s wall, {cpu:.1f} s CPU: "
          f"{cases / wall:.1f} cases/s wall, {cases / cpu:.1f} per CPU second  {note}",
          flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="replay this many cases, spread "
                        "evenly over the store (0: all)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cache", choices=("none", "cold", "warm"), default="none",
                        help="the harness' stage cache in one process (default: %(default)s)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed part "
                        "(CPU time)")
    parser.add_argument("--pytest", action="store_true", help="time the suite through pytest")
    parser.add_argument("--workers", type=int, default=2,
                        help="with --pytest: pytest-xdist workers (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --pytest: runs (of each tree with --against)")
    parser.add_argument("--against", metavar="REF", default=None,
                        help="with --pytest: REF's tree too, alternating")
    parser.add_argument("-k", dest="selection", default=None,
                        help="with --pytest: only the cases this -k expression selects too")
    parser.add_argument("--processes", type=int, default=1,
                        help="without --pytest: replay in this many processes at once")
    parser.add_argument("--part", type=parse_shard, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:  # one of --processes N, in the folder its parent made
        return in_process(args, args.folder)
    with tempfile.TemporaryDirectory(prefix="bench-golden-") as tmp:
        if args.pytest:
            return through_pytest(args, Path(tmp))
        if args.processes > 1:
            return in_processes(args, Path(tmp))
        return in_process(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
