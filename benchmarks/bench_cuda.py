"""A CUDA run against a CPU run of the same cases, on the same machine, in one script.

Both sides take the same fixed ONNX cases (``harness.core.strategies.sample``, derandomised,
every kind of the ``onnx`` source, or ``--family``) down the source's default paths and do
what ``suites/onnx`` does per case: ``Harness.run`` and the result records. The CPU side is a
harness on ``--parity-device cpu``; the CUDA side one on ``cuda`` with the strict precision
(TF32 off), as ``--parity-device cuda`` runs. With ``--isolate`` both run in a worker process
(``IsolatedHarness``), as a CUDA suite run always does and a CPU one does with
``--parity-isolate``; the CUDA side's worker restarts after a case that loses its CUDA context
are counted. Rounds alternate the sides, so that drift in the machine's speed hits both alike.
The figure is the ratio of their times per case (issue 44 asks for at most 1.3).

Where torch sees no CUDA device it says so and measures nothing (exit 0)::

    python benchmarks/bench_cuda.py [--per-kind 1] [--rounds 3] [--family F] [--isolate]
                                    [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

from rates import write_figures  # noqa: E402

from harness.core import registry  # noqa: E402
from harness.core.machine import cpu_model, cuda_unavailable  # noqa: E402
from harness.core.strategies import sample  # noqa: E402
from harness.results import gpu_model  # noqa: E402

SOURCE = "onnx"
SIDES = ("cpu", "cuda")  # the baseline, the measured side


def harness_for(device: str, isolate: bool):
    if isolate:
        from harness.run.isolation import IsolatedHarness

        return IsolatedHarness(device=device, timeout=600)
    from harness.run.pipeline import Harness

    return Harness(device=device)


def run_round(harness, device: str, specs, writer) -> tuple[float, dict[str, int]]:
    """Seconds for the cases on one side, and its verdicts."""
    from harness.results import result_records
    from harness.sources import SourceError

    verdicts: dict[str, int] = {}
    started = time.perf_counter()
    for spec in specs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                case = harness.run(spec)
        except SourceError:
            continue
        for leg in case.legs:
            verdicts[leg.verdict] = verdicts.get(leg.verdict, 0) + 1
        writer.write_all(result_records(case, run_id="bench", shard=device, device=device,
                                        test=None, hypothesis=None))
    return time.perf_counter() - started, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=1, help="cases per ONNX kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--family", action="append", default=[],
                        help="only the kinds of this family (repeatable), e.g. conv")
    parser.add_argument("--isolate", action="store_true",
                        help="both sides in a worker process, as a CUDA suite run is")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--sides", default=",".join(SIDES), help=argparse.SUPPRESS)  # a check
    args = parser.parse_args()
    sides = tuple(args.sides.split(","))  # "cpu,cpu": the script's own check without a GPU

    missing = cuda_unavailable() if "cuda" in sides else None
    if missing is not None:
        print(f"bench_cuda: {missing}: nothing measured; run it on a "
              "machine with an NVIDIA GPU")
        return 0
    from harness.results import ResultWriter

    kinds = [k.name for k in registry.kinds(SOURCE)
             if not args.family or k.family in args.family]
    specs = [spec for kind in kinds for spec in sample(kind, args.per_kind, source=SOURCE)]
    names = ("baseline", "measured")
    harnesses = {name: harness_for(device, args.isolate) for name, device in zip(names, sides)}
    times: dict[str, list[float]] = {name: [] for name in names}
    verdicts: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        writers = {name: ResultWriter(Path(tmp) / f"{name}.jsonl") for name in names}
        for name, device in zip(names, sides):  # imports, CUDA context, sessions: not timed
            run_round(harnesses[name], device, specs[: max(1, len(kinds))], writers[name])
        for _ in range(args.rounds):
            for name, device in zip(names, sides):
                seconds, verdicts[device if name == "baseline" else "cuda"] = run_round(
                    harnesses[name], device, specs, writers[name])
                times[name].append(seconds)
        for writer in writers.values():
            writer.close()
    restarts = getattr(harnesses["measured"], "contexts_lost", None)
    for harness in harnesses.values():
        close = getattr(harness, "close", None)
        if close is not None:
            close()
    cpu, cuda = (statistics.median(times[name]) for name in names)
    figures = {
        "cases": len(specs), "kinds": len(kinds), "rounds": args.rounds,
        "isolate": args.isolate,
        "cpu_ms_per_case": round(1000 * cpu / len(specs), 2),
        "cuda_ms_per_case": round(1000 * cuda / len(specs), 2),
        "cuda_over_cpu": round(cuda / cpu, 3),
        "sides": list(sides),
        "cpu_rounds_s": [round(t, 3) for t in times["baseline"]],
        "cuda_rounds_s": [round(t, 3) for t in times["measured"]],
        "verdicts": verdicts,
        "cuda_contexts_lost": restarts,
        "gpu": gpu_model(), "cpu": cpu_model(), "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    families = f", families {', '.join(args.family)}" if args.family else ""
    print(f"{len(specs)} ONNX cases ({len(kinds)} kinds{families}) x {args.rounds} rounds, "
          f"{'isolated' if args.isolate else 'in-process'}; {figures['gpu']}, {figures['cpu']}")
    print(f"  cpu             : {figures['cpu_ms_per_case']:8.2f} ms per case")
    print(f"  cuda            : {figures['cuda_ms_per_case']:8.2f} ms per case")
    print(f"  cuda / cpu      : {figures['cuda_over_cpu']:8.3f}x (issue 44: at most 1.3x)")
    print(f"  verdicts        : cpu {verdicts.get('cpu')}, cuda {verdicts.get('cuda')}")
    if restarts is not None:
        print(f"  contexts lost   : {restarts} (each one case, one worker restart)")
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
