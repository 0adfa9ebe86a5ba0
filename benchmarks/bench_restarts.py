"""What a dead worker costs the next case: without spare workers, and with them.

A worker that loses its CUDA context (or crashes, or hangs) is ended, and the next case needs
another (``harness.run.isolation``). Once one has died, ``IsolatedHarness`` keeps spares
starting beside the worker in use, so that the next death costs a switch. This times a run of
``--deaths`` cases that each kill their worker, each followed by a good case, through the
planted device fault of the containment tests (``tests/device_faults.py``: the real path to
the record, on any machine), with no spares and with ``--spares`` (the default: what
``IsolatedHarness`` keeps), rounds alternating. Each side's harness first runs one
good case, not timed (the first worker's start is the same on both). Prints seconds per death
and their ratio::

    python benchmarks/bench_restarts.py [--deaths 4] [--spares N] [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.device_faults, the planted stage

from rates import write_figures  # noqa: E402

import tests.device_faults as faults  # noqa: E402  (registers the planted stage here too)
from harness.core.machine import cpu_model  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.run.isolation import SPARES_AFTER_A_DEATH, IsolatedHarness  # noqa: E402

PLANTED = "onnx>planted-assert"
WARM = ("onnx", "onnxruntime", "onnx2torch")  # the ONNX cases' modules: no TensorFlow


def relu(width: int) -> LayerSpec:
    return LayerSpec("Relu", {"opset": 17}, ((1, width),), source="onnx", seed=width)


def one_round(spares: int, deaths: int) -> tuple[float, int]:
    """Seconds for ``deaths`` deadly cases, each with a good one after it; contexts lost."""
    harness = IsolatedHarness(PLANTED, plugins=["tests.device_faults"], warm=WARM,
                              timeout=300, spares=spares)
    try:
        harness.run(relu(2))
        started = time.perf_counter()
        for _ in range(deaths):
            harness.run(relu(faults.TRIGGER))
            harness.run(relu(4))
        return time.perf_counter() - started, harness.contexts_lost
    finally:
        harness.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deaths", type=int, default=4)
    parser.add_argument("--spares", type=int, default=SPARES_AFTER_A_DEATH)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    sides = {"no spares": 0, f"{args.spares} spare(s)": args.spares}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, spares in sides.items():
            seconds, lost = one_round(spares, args.deaths)
            if lost != args.deaths:
                print(f"bench_restarts: {name}: {lost} contexts lost, not {args.deaths}")
                return 1
            times[name].append(seconds)
    without, with_spares = (statistics.median(times[name]) for name in sides)
    figures = {
        "deaths": args.deaths, "spares": args.spares, "rounds": args.rounds,
        "s_per_death_without": round(without / args.deaths, 3),
        "s_per_death_with": round(with_spares / args.deaths, 3),
        "with_over_without": round(with_spares / without, 3),
        "rounds_s": {name: [round(t, 3) for t in values] for name, values in times.items()},
        "cpu": cpu_model(), "cpu_count": os.cpu_count(),
    }
    print(f"{args.deaths} deaths, each with a good case after it, x {args.rounds} rounds; "
          f"{figures['cpu']}, {figures['cpu_count']} cores")
    print(f"  no spares       : {figures['s_per_death_without']:7.2f} s per death")
    print(f"  {args.spares} spare(s)      : {figures['s_per_death_with']:7.2f} s per death")
    print(f"  with / without  : {figures['with_over_without']:7.3f}x")
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
