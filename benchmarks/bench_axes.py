"""What each axis costs per case, as a ratio to the plain float32 case in the same run.

The axes (``harness.core.axes``): float16, float64, mixed_float16 and free dimensions, each drawn
with ``harness.core.strategies.sample(kind, n, axis=...)`` (derandomised: the same cases on every
run), plus two costs every plain case can carry: the float64 yardstick reading of the
reference (``harness.sources.keras.yardstick``) and the ``keras>tf2onnx>ort-optimized`` leg (the ONNX
model read again with onnxruntime's graph optimisations on). ONNX ops have dtype axes of
their own (float16, float64, as each op declares: ``harness.core.dtypes.admitted``); their rows are timed down the
onnx source's default paths against the same ops' own draw, and their float64 reading
(``harness.sources.onnx.yardstick``) is timed as the Keras one is. Every case goes through
``Harness.run`` with its result records written, as a suite runs it; the plain row is the
same kinds' float32 cases down ``keras>tf2onnx>onnx2torch``, and the bare row the same
conversions done by a bare script (``bench_core.bare_case``) for scale. Rounds alternate the
rows so that drift in the machine's speed hits all alike; each case's time is its median
over the rounds.

    python benchmarks/bench_axes.py [--kind K ...] [--per-kind 3] [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_core import bare_case, harness_case
from rates import write_figures

from harness.converters import DEFAULT_PATHS
from harness.core import axes, registry
from harness.core.inputs import make_inputs
from harness.core.strategies import sample
from harness.results import ResultWriter
from harness.run.pipeline import Harness

CORE_PATH = "keras>tf2onnx>onnx2torch"
ORT_ROW = "ort-optimized"
YARDSTICK_ROW = "yardstick"
ONNX_YARDSTICK_ROW = "onnx yardstick"
BARE_ROW = "bare script"
# A kind of each main family (dense, convolution, recurrent, normalisation, pooling, merge):
# about two minutes on a 2-core machine at the defaults.
DEFAULT_KINDS = ("Dense", "Conv2D", "LSTM", "BatchNormalization", "MaxPooling2D", "Add")
AXES = ("float16", "float64", "mixed_float16", axes.FREE)
# An op of each main ONNX family: elementwise, convolution, matmul, activation, normalisation.
ONNX_KINDS = ("Add", "Conv", "MatMul", "Relu", "Softmax", "BatchNormalization")
ONNX_PLAIN = "onnx"
ONNX_AXES = ("float16", "float64")


def onnx_row(axis: str) -> str:
    return f"{ONNX_PLAIN} {axis}"


def axis_specs(kinds, per_kind: int) -> dict[str, dict[str, list]]:
    """{axis: {kind: specs}}, the plain float32 cases under ``axes.PLAIN``; a kind that does
    not admit an axis is left out of that axis' row."""
    drawn: dict[str, dict[str, list]] = {axes.PLAIN: {k: sample(k, per_kind) for k in kinds}}
    for axis in AXES:
        drawn[axis] = {k: sample(k, per_kind, axis=axis) for k in kinds
                       if axis in axes.admitted(registry.get(k)).names}
    return drawn


def onnx_axis_specs(per_kind: int) -> dict[str, dict[str, list]]:
    """{row: {kind: specs}} for ``ONNX_KINDS``: their own draw (mostly float32) and each
    dtype axis a kind admits."""
    import harness.sources.onnx.kinds  # noqa: F401  (registers the ONNX ops)

    drawn = {ONNX_PLAIN: {k: sample(k, per_kind, source="onnx") for k in ONNX_KINDS}}
    for axis in ONNX_AXES:
        drawn[onnx_row(axis)] = {
            k: sample(k, per_kind, source="onnx", axis=axis) for k in ONNX_KINDS
            if axis in axes.admitted(registry.get(k, "onnx")).names}
    return drawn


def yardstick_seconds(spec) -> float | None:
    """The float64 reading of the reference alone; None where ``harness.sources.keras.yardstick`` gives
    none for the case (not written yet, or the kind cannot be read in float64)."""
    from harness.sources.keras.model import build_model
    from harness.sources.keras.yardstick import keras_reading

    inputs = make_inputs(spec)
    try:
        model = build_model(spec)
    except Exception:  # the source itself fails (a known TF bug): no reading to repeat
        return None
    started = time.perf_counter()
    reading = keras_reading(spec, model, inputs)
    return None if reading is None else time.perf_counter() - started


def onnx_yardstick_seconds(spec) -> float | None:
    """The ONNX source's float64 reading alone (``harness.sources.onnx.yardstick``: the model
    built again in float64, then read with its error model) within the source's read of the
    case; None where the case gets none (a dtype other than float32, a kind that does not
    build in float64)."""
    import harness.sources.onnx as onnx_source
    from harness.core.tolerance import TolerancePolicy

    spent: list[float] = []
    real = onnx_source.Float64Model

    class Timed(real):
        def __init__(self, *args, **kwargs):
            started = time.perf_counter()
            super().__init__(*args, **kwargs)
            spent.append(time.perf_counter() - started)

        def reading(self, *args, **kwargs):
            started = time.perf_counter()
            read = super().reading(*args, **kwargs)
            spent.append(time.perf_counter() - started)
            return read

    onnx_source.Float64Model = Timed
    try:
        reading = onnx_source.OnnxSource().read(spec, policy=TolerancePolicy())
    except Exception:  # the source itself refuses the case: no reading to time
        return None
    finally:
        onnx_source.Float64Model = real
    return None if reading.yardstick is None else sum(spent)


def share_row(figures: dict, row: str, seconds: dict[str, float | None], whole_ms: float,
              what: str, why_none: str) -> str:
    """The row of a part of every case (``seconds`` per case, None where the case has no such
    part) against the whole case's ``whole_ms``: its ms per case and the whole over the whole
    without it; recorded in ``figures``."""
    read = [t for t in seconds.values() if t is not None]
    if not read or 1000 * statistics.mean(read) >= whole_ms:
        figures["rows"][row] = None
        return f"  {row:<16}{0:>6}{'-':>10}{'-':>8}  (no reading: {why_none})"
    ms = 1000 * statistics.mean(read)
    ratio = whole_ms / (whole_ms - ms)
    figures["rows"][row] = {"cases": len(read), "ms_per_case": round(ms, 2),
                            "ratio": round(ratio, 3)}
    return f"  {row:<16}{len(read):>6}{ms:>10.1f}{ratio:>8.3f}  ({what})"


def timed(run, specs) -> dict[str, float]:
    times = {}
    for spec in specs:
        started = time.perf_counter()
        run(spec)
        times[spec.case_id] = time.perf_counter() - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", default=[],
                        help=f"a layer kind (repeatable; default {', '.join(DEFAULT_KINDS)})")
    parser.add_argument("--per-kind", type=int, default=3, help="cases per kind and axis")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    logging.getLogger("tf2onnx").setLevel(logging.CRITICAL)  # known refusals, once per round

    kinds = args.kind or list(DEFAULT_KINDS)
    unknown = [k for k in kinds if k not in registry.names()]
    if unknown:
        parser.error(f"unknown layer kind(s) {', '.join(unknown)}; `parity layers` lists them")
    drawn = {**axis_specs(kinds, args.per_kind), **onnx_axis_specs(args.per_kind)}
    plain = [s for specs in drawn[axes.PLAIN].values() for s in specs]
    core, with_ort, onnx = Harness(CORE_PATH), Harness(",".join(DEFAULT_PATHS)), Harness()

    with tempfile.TemporaryDirectory() as tmp:
        writer = ResultWriter(Path(tmp) / "bench.jsonl")
        rows = {
            axes.PLAIN: (lambda s: harness_case(core, writer, s), plain),
            **{axis: (lambda s: harness_case(core, writer, s),
                      [s for specs in drawn[axis].values() for s in specs]) for axis in AXES},
            ORT_ROW: (lambda s: harness_case(with_ort, writer, s), plain),
            BARE_ROW: (bare_case, plain),
            **{row: (lambda s: harness_case(onnx, writer, s),
                     [s for specs in drawn[row].values() for s in specs])
               for row in (ONNX_PLAIN, *map(onnx_row, ONNX_AXES))},
        }
        for run, specs in rows.values():  # warm every row: first imports, tracing
            if specs:
                run(specs[0])
        rounds: dict[str, list[dict[str, float]]] = {row: [] for row in rows}
        for _ in range(args.rounds):
            for row, (run, specs) in rows.items():
                rounds[row].append(timed(run, specs))
        writer.close()
    yardstick = {s.case_id: yardstick_seconds(s) for s in plain}
    onnx_plain = [s for specs in drawn[ONNX_PLAIN].values() for s in specs]
    onnx_yardstick = {s.case_id: onnx_yardstick_seconds(s) for s in onnx_plain}

    per_case = {row: {case: statistics.median(r[case] for r in rounds[row])
                      for case in rounds[row][0]} for row in rows}
    def by_kind(base: str) -> dict[str, list[float]]:
        return {k: [per_case[base][s.case_id] for s in specs] for k, specs in drawn[base].items()}

    plain_by_kind = {**by_kind(axes.PLAIN), **{f"onnx:{k}": t
                                               for k, t in by_kind(ONNX_PLAIN).items()}}

    def plain_ms(of_kinds) -> float:
        return 1000 * statistics.mean(t for k in of_kinds for t in plain_by_kind[k])

    figures: dict[str, object] = {"kinds": kinds, "per_kind": args.per_kind,
                                  "rounds": args.rounds, "rows": {}}
    lines = [f"{len(plain)} plain cases ({', '.join(kinds)}), {args.per_kind} per kind and axis, "
             f"{args.rounds} rounds; ratio = ms per case / the plain float32 case's "
             f"(same kinds, {CORE_PATH}); the onnx rows: {', '.join(ONNX_KINDS)}, "
             f"against the same ops' own draw down the onnx source's default paths",
             f"  {'row':<16}{'cases':>6}{'ms/case':>10}{'ratio':>8}"]
    for row in rows:
        row_kinds = list(drawn[row]) if row in drawn else kinds
        if row.startswith(ONNX_PLAIN):  # against the same ONNX ops' own draw
            row_kinds = [f"onnx:{k}" for k in row_kinds]
        times = list(per_case[row].values())
        if not times:
            lines.append(f"  {row:<16}{0:>6}{'-':>10}{'-':>8}  (no kind admits it)")
            continue
        ms = 1000 * statistics.mean(times)
        ratio = ms / plain_ms(row_kinds)
        figures["rows"][row] = {"cases": len(times), "ms_per_case": round(ms, 2),
                                "ratio": round(ratio, 3)}
        lines.append(f"  {row:<16}{len(times):>6}{ms:>10.1f}{ratio:>8.3f}")
    # The source's read() already takes the yardstick in every plain case: its share is
    # what a case would save without it.
    lines.append(share_row(figures, YARDSTICK_ROW, yardstick, plain_ms(kinds),
                           "the float64 reading alone; ratio: plain / plain without it",
                           "harness.sources.keras.yardstick.keras_reading returned None"))
    lines.append(share_row(figures, ONNX_YARDSTICK_ROW, onnx_yardstick,
                           plain_ms([f"onnx:{k}" for k in drawn[ONNX_PLAIN]]),
                           "the onnx float64 reading alone; ratio: onnx / onnx without it",
                           "harness.sources.onnx.yardstick gave none"))
    print("\n".join(lines))
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
