"""What each stage after a converted PyTorch module costs per case (harness.run.torch_end).

Draws fixed ONNX cases (``harness.core.strategies.sample(kind, n, source="onnx")``, derandomised)
of an op of each main family and a drawn graph, converts each with onnx2torch and
onnx2pytorch, and times every stage's leg (its conversion: export, compile, export to ONNX;
and its run at every size) through ``Harness.run``, as a suite runs it. The first case of a
stage pays its framework's import and warm-up (Dynamo, Inductor, onnxscript): it is shown
apart. Prints per stage the median seconds per case after the first and the verdicts.

    python benchmarks/bench_torch_end.py [--kind K ...] [--per-kind 3] [--stage S ...]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys

import torch  # noqa: F401  (before anything imports TensorFlow)
from rates import print_stage_table, write_figures

from harness.core.strategies import sample
from harness.run import torch_end
from harness.run.pipeline import Harness

DEFAULT_KINDS = ("Add", "Conv", "MatMul", "Relu", "Softmax", "Reshape", "FlattenGemm")
BASES = ("onnx>onnx2torch", "onnx>onnx2pytorch")


def measure(kinds, per_kind: int, stages) -> dict[str, dict]:
    specs = [spec for kind in kinds for spec in sample(kind, per_kind, source="onnx")]
    rows: dict[str, dict] = {}
    for stage in stages:
        paths = ",".join(f"{base}>{stage}" for base in BASES)
        harness = Harness(paths, diagnose=False)
        times, verdicts, first = [], collections.Counter(), None
        for spec in specs:
            case = harness.run(spec)
            own = [leg for leg in case.legs if leg.stage == stage]
            spent = sum(sum(leg.timing.get(k, 0.0) for k in ("convert", "run")) for leg in own)
            if first is None:
                first = spent
            else:
                times.append(spent)
            verdicts.update(leg.verdict for leg in own)
        rows[stage] = {"cases": len(specs), "first_s": first,
                       "median_s": statistics.median(times) if times else None,
                       "mean_s": statistics.fmean(times) if times else None,
                       "verdicts": dict(verdicts)}
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", help="ONNX kinds (default: %(default)s)")
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--stage", action="append", choices=torch_end.STAGES)
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)
    rows = measure(args.kind or DEFAULT_KINDS, args.per_kind, args.stage or torch_end.STAGES)
    print_stage_table(rows, "stage", 26, "verdicts (both converters' legs)")
    write_figures(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
