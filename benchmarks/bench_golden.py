"""Golden replay speed: cases per second that ``suites/golden`` replays, in one process.

Loads the store's manifest once, then for each case (every case, or ``--limit`` of them
spread over the store) does what ``suites/golden/test_golden.py::test_golden_case`` does
through the ``parity`` fixture: ``golden.load_case`` (checksums verified), the case's stored
artifacts, ``Case.replay`` with the suite's harness (``threads=1``, as a pytest-xdist worker
runs it), and its result records. The first ``--warmup`` cases pay the imports and the
runners' first sessions, untimed. Prints the rate in wall and CPU time with the CPU model;
two workers (``pytest -n 2``) replay at about twice the one-process CPU rate.

    python benchmarks/bench_golden.py [--limit 400] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

from harness import golden  # noqa: E402
from harness.core.machine import cpu_model  # noqa: E402
from harness.results import result_records  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402


def replay_all(store, case_ids, harness) -> int:
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="replay this many cases, spread "
                        "evenly over the store (0: all)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed part")
    args = parser.parse_args(argv)
    root = golden.default_root()
    store = golden.read_manifest(root)
    ids = sorted(store.cases)
    if args.limit:
        step = max(1, len(ids) // args.limit)
        ids = ids[::step][: args.limit]
    harness = Harness(threads=1)
    replay_all(store, ids[: args.warmup], harness)
    timed = ids[args.warmup:]
    profiler = cProfile.Profile() if args.profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    records = replay_all(store, timed, harness)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"CPU: {cpu_model()}")
    print(f"  {len(timed)} cases ({records} records) in {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"  {len(timed) / wall:.1f} cases/s wall, {len(timed) / cpu:.1f} cases/s per CPU "
          f"second (one process; two workers: about {2 * len(timed) / cpu:.0f} cases/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
