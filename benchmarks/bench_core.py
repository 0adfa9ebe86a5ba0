"""Cases per second: the harness' loop against a bare script doing the same conversions.

Both sides take the same fixed cases (``harness.core.strategies.sample``, derandomised), build the
same Keras models and run the same legs of ``keras>tf2onnx>onnx2torch``. The bare side calls
tf2onnx, onnxruntime and onnx2torch directly and compares nothing; the harness side is what
a suite runs for each case: ``Harness.run`` (conversion, runs, comparison, known-issue
judging) plus the result records written to JSONL. Rounds alternate between the two so that
drift in the machine's speed hits both alike.

    python benchmarks/bench_core.py [--per-kind 4] [--rounds 3] [--family F] [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

import numpy as np  # noqa: E402
from rates import print_rates, rate_figures, write_figures  # noqa: E402

from harness.core import registry  # noqa: E402
from harness.core.inputs import make_inputs  # noqa: E402
from harness.core.strategies import sample  # noqa: E402
from harness.results import ResultWriter, result_records  # noqa: E402
from harness.run.pipeline import Harness, SourceError  # noqa: E402
from harness.sources.keras.model import build_model  # noqa: E402


def bare_case(spec) -> None:
    """The conversions and runs alone, as a user's one-off script would do them."""
    import onnx2torch
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    import torch

    inputs = make_inputs(spec)
    try:
        model = build_model(spec)
        model(inputs if len(inputs) > 1 else inputs[0], training=False)
    except Exception:  # the source itself fails (a known TF bug): nothing to convert
        return
    signature = [
        tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=f"input_{i}")
        for i, t in enumerate(model.inputs)
    ]
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
        proto.ir_version = min(proto.ir_version, 10)
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})
        module = onnx2torch.convert(proto).eval()
        with torch.inference_mode():
            module(*[torch.from_numpy(x) for x in inputs])
    except Exception:  # a known converter failure costs the bare script its time too
        pass


def harness_case(harness: Harness, writer: ResultWriter, spec):
    """``harness.run(spec)`` and its result records written, as a test session writes them;
    the case, or None where the source refused the spec."""
    try:
        case = harness.run(spec)
    except SourceError:
        return None
    writer.write_all(result_records(case, run_id="bench", shard="bench", device="cpu",
                                    test=None, hypothesis=None))
    return case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=4, help="cases per layer kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--family", action="append", default=[],
                        help="only the kinds of this family (repeatable), e.g. conv, whose "
                             "cases also pay for the XLA second reading")
    args = parser.parse_args()

    t0 = time.perf_counter()
    kinds = registry.names(without=registry.WHOLE_MODELS)  # the core path: layers
    if args.family:
        kinds = [k for k in kinds if registry.get(k).family in args.family]
    specs = [spec for kind in kinds for spec in sample(kind, args.per_kind)]
    draw_s = time.perf_counter() - t0
    harness = Harness("keras>tf2onnx>onnx2torch")
    with tempfile.TemporaryDirectory() as tmp:
        writer = ResultWriter(Path(tmp) / "bench.jsonl")
        for spec in specs[: len(kinds)]:  # warm both paths: tracing, first imports
            bare_case(spec)
            harness_case(harness, writer, spec)
        bare_rates, harness_rates = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            for spec in specs:
                bare_case(spec)
            bare_rates.append(len(specs) / (time.perf_counter() - t))
            t = time.perf_counter()
            for spec in specs:
                harness_case(harness, writer, spec)
            harness_rates.append(len(specs) / (time.perf_counter() - t))
        writer.close()

    figures = {
        "cases": len(specs),
        "rounds": args.rounds,
        **rate_figures(bare_rates, harness_rates, cases=len(specs), draw_s=draw_s),
        "numpy": np.__version__,
    }
    print(f"{len(specs)} cases x {args.rounds} rounds, keras>tf2onnx>onnx2torch"
          + (f", families {', '.join(args.family)}" if args.family else ""))
    print_rates(figures, "bare conversions")
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
