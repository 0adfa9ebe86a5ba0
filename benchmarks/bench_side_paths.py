"""What each side-path stage costs per case (harness.run.side_paths): the ONNX simplifiers and
optimizers on drawn ONNX cases, both Keras → TFLite routes on drawn Keras cases, and onnx2tf's
two legs (one conversion, where it is installed) on the ONNX cases.

Draws fixed cases (``harness.core.strategies.sample``, derandomised), runs each stage's path
alone through ``Harness.run`` as a suite runs it, and times the stage's own leg (its conversion
and its run at every size; for ``tflite-savedmodel`` the ``savedmodel`` leg before it too,
which that route adds). The first case of a stage pays its imports: it is shown apart. Prints
per stage the median seconds per case after the first and the verdicts.

    python benchmarks/bench_side_paths.py [--per-kind 3] [--only onnx|keras|onnx2tf]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys

import torch  # noqa: F401  (before anything imports TensorFlow)
from rates import print_stage_table, write_figures

from harness.core.strategies import sample
from harness.run import side_paths
from harness.run.pipeline import Harness

ONNX_KINDS = ("Add", "Conv", "MatMul", "Relu", "Softmax", "Reshape", "FlattenGemm")
KERAS_KINDS = ("Dense", "Conv2D", "Add", "BatchNormalization", "ReLU", "MaxPooling2D")


def measure(paths, kinds, source: str | None, per_kind: int) -> dict[str, dict]:
    specs = [spec for kind in kinds for spec in (
        sample(kind, per_kind, source=source) if source else sample(kind, per_kind))]
    rows: dict[str, dict] = {}
    for path in paths:
        harness = Harness(path, diagnose=False)
        stage_legs = path.split(">", 1)[1]
        times, verdicts, first = [], collections.Counter(), None
        for spec in specs:
            case = harness.run(spec)
            own = [leg for leg in case.legs if leg.leg != spec.source and
                   leg.leg.split(">", 1)[-1] in {stage_legs, *stage_legs.split(">")}]
            spent = sum(sum(leg.timing.get(k, 0.0) for k in ("convert", "run")) for leg in own)
            if first is None:
                first = spent
            else:
                times.append(spent)
            verdicts.update(leg.verdict for leg in own if leg.leg == path)
        rows[path] = summary(len(specs), first, times, verdicts)
    return rows


def summary(cases: int, first: float | None, times: list[float], verdicts) -> dict:
    """A row: the first case's seconds (imports included) apart from the rest's median and mean."""
    return {"cases": cases, "first_s": first,
            "median_s": statistics.median(times) if times else None,
            "mean_s": statistics.fmean(times) if times else None, "verdicts": dict(verdicts)}


def measure_onnx2tf(kinds, per_kind: int) -> dict[str, dict]:
    """onnx2tf's two legs read one conversion: timed together, one row, the conversion on
    the first leg and each leg's run."""
    specs = [spec for kind in kinds for spec in sample(kind, per_kind, source="onnx")]
    harness = Harness(",".join(side_paths.ONNX2TF), diagnose=False)
    times, verdicts, first = [], collections.Counter(), None
    for spec in specs:
        own = [leg for leg in harness.run(spec).legs if leg.leg in side_paths.ONNX2TF]
        spent = sum(sum(leg.timing.get(k, 0.0) for k in ("convert", "run")) for leg in own)
        if first is None:
            first = spent
        else:
            times.append(spent)
        verdicts.update(f"{leg.leg.rsplit('>', 1)[-1]}:{leg.verdict}" for leg in own)
    return {" + ".join(side_paths.ONNX2TF): summary(len(specs), first, times, verdicts)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--only", choices=("onnx", "keras", "onnx2tf"))
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)
    rows = {}
    if args.only in (None, "onnx"):
        rows.update(measure(side_paths.ONNX, ONNX_KINDS, "onnx", args.per_kind))
    if args.only in (None, "keras"):
        rows.update(measure(side_paths.KERAS, KERAS_KINDS, None, args.per_kind))
    if args.only in (None, "onnx2tf"):
        missing = side_paths.unavailable(side_paths.ONNX2TF[0])
        if missing:
            print(f"left out: {missing}")
        else:
            rows.update(measure_onnx2tf(ONNX_KINDS, args.per_kind))
    print_stage_table(rows, "path", 36, "verdicts")
    write_figures(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
