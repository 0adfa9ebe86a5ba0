"""ONNX cases per second: the harness against a bare script doing the same work, same run.

Both sides take the same fixed ONNX cases (``harness.core.strategies.sample``, derandomised, every
kind of the ``onnx`` source: single ops and drawn graphs) and do the same work per case:
build the model (checked, shape-inferred, seeded weights and inputs), read it with
onnxruntime (optimisations off) and onnx's reference evaluator, convert it with onnx2torch
and onnx2pytorch and run both, run onnxruntime with every optimisation on, and compare each
leg with the reference. The bare side calls those libraries directly and compares with
``np.allclose``; the harness side is what ``suites/onnx`` runs for each case:
``Harness.run`` (the source's two readings, the legs, the comparison with metrics, known-issue
judging, a per-node diagnosis of a failing graph) plus the result records written to JSONL.
Rounds alternate between the two so that drift in the machine's speed hits both alike.
``--workers 2`` splits the cases over two processes (the two cores of the CI machine), as
``pytest -n 2`` does.

    python benchmarks/bench_onnx.py [--per-kind 2] [--rounds 3] [--workers 2] [--family F]
                                    [--json out.json]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

import numpy as np  # noqa: E402
from rates import print_rates, rate_figures, write_figures  # noqa: E402

from harness.core import registry  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.strategies import sample  # noqa: E402

SOURCE = "onnx"
_STATE: dict = {}  # per process: the harness and its result writer


def bare_case(spec: LayerSpec) -> None:
    """The same work as a user's one-off script would do it: no records, no metrics."""
    import onnx2torch
    import onnxruntime as ort
    import torch
    from onnx.reference import ReferenceEvaluator
    from onnx2pytorch import ConvertModel

    from harness.sources.onnx import _rng, make_inputs
    from harness.sources.onnx.build import fill_weights

    kind = registry.get(spec.kind, SOURCE)
    try:
        model = kind.build_model(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                 spec.dtype)
    except Exception:  # an invalid drawn graph costs the bare script its time too
        return
    fill_weights(model, _rng(spec, "weights"))
    inputs = make_inputs(spec)
    payload = model.SerializeToString()
    names = [i.name for i in model.graph.input]

    def session(level):
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = level
        return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])

    def agree(outputs, reference) -> bool:
        return len(outputs) == len(reference) and all(
            np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-5, atol=1e-5)
            for a, b in zip(outputs, reference))

    try:
        reference = session(ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(
            None, dict(zip(names, inputs)))
    except Exception:
        return
    try:
        evaluated = ReferenceEvaluator(model).run(None, dict(zip(names, inputs)))
        if not agree(evaluated, reference):
            reference = evaluated
    except Exception:
        pass
    tensors = [torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
    for convert in (lambda: onnx2torch.convert(model),
                    lambda: ConvertModel(model, experimental=True)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = convert().eval()
                with torch.inference_mode():
                    out = module(*tensors)
            out = [out] if isinstance(out, torch.Tensor) else list(out)
            agree([o.numpy() for o in out], reference)
        except Exception:  # a known converter failure costs the bare script its time too
            pass
    try:
        optimised = session(ort.GraphOptimizationLevel.ORT_ENABLE_ALL).run(
            None, dict(zip(names, inputs)))
        agree(optimised, reference)
    except Exception:
        pass


def harness_case(spec: LayerSpec) -> None:
    from harness.results import result_records
    from harness.run.pipeline import SourceError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = _STATE["harness"].run(spec)
    except SourceError:
        return
    _STATE["writer"].write_all(result_records(case, run_id="bench", shard="bench",
                                              device="cpu", test=None, hypothesis=None))


def _start(folder: str, threads: int) -> None:
    """A process' harness, writer and thread count (one thread per worker, as pytest -n)."""
    from harness.results import ResultWriter
    from harness.run.pipeline import Harness

    if threads:
        import torch

        torch.set_num_threads(threads)
    _STATE["harness"] = Harness(threads=threads)
    _STATE["writer"] = ResultWriter(Path(folder) / f"bench-{os.getpid()}.jsonl")


def _chunk(side: str, payload: list[dict]) -> int:
    run = bare_case if side == "bare" else harness_case
    for data in payload:
        run(LayerSpec.from_json(data))
    return len(payload)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=2, help="cases per ONNX kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the cases (2: the CI machine's two cores)")
    parser.add_argument("--family", action="append", default=[],
                        help="only the kinds of this family (repeatable), e.g. graphs")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    kinds = [k.name for k in registry.kinds(SOURCE)
             if not args.family or k.family in args.family]
    specs = [spec for kind in kinds for spec in sample(kind, args.per_kind, source=SOURCE)]
    draw_s = time.perf_counter() - t0
    payload = [spec.to_json() for spec in specs]
    chunks = [payload[i::args.workers] for i in range(args.workers)]
    threads = 1 if args.workers > 1 else 0
    with tempfile.TemporaryDirectory() as tmp:
        context = multiprocessing.get_context("fork")
        with context.Pool(args.workers, initializer=_start, initargs=(tmp, threads)) as pool:
            warm = [chunk[: max(1, len(kinds) // args.workers)] for chunk in chunks]
            pool.starmap(_chunk, [("bare", c) for c in warm])  # first imports, first sessions
            pool.starmap(_chunk, [("harness", c) for c in warm])
            bare_rates, harness_rates = [], []
            for _ in range(args.rounds):
                for side, rates in (("bare", bare_rates), ("harness", harness_rates)):
                    t = time.perf_counter()
                    pool.starmap(_chunk, [(side, c) for c in chunks])
                    rates.append(len(specs) / (time.perf_counter() - t))
    figures = {
        "cases": len(specs),
        "kinds": len(kinds),
        "rounds": args.rounds,
        "workers": args.workers,
        **rate_figures(bare_rates, harness_rates, cases=len(specs), draw_s=draw_s, digits=2),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    families = f", families {', '.join(args.family)}" if args.family else ""
    print(f"{len(specs)} ONNX cases ({len(kinds)} kinds{families}) x {args.rounds} rounds, "
          f"{args.workers} worker(s); legs onnx>onnx2torch, onnx>onnx2pytorch, "
          f"onnx>ort-optimized")
    print_rates(figures, "bare script")
    print(f"  load average     : {figures['load_average']} on {os.cpu_count()} cores")
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
