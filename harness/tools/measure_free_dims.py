"""Measures which kinds admit which free dimension (docs/free-dims.md). Not imported by the
harness::

    python -m harness.tools.measure_free_dims [N]          # Keras: spatial and time, N cases a kind
    python -m harness.tools.measure_free_dims --onnx [N]   # ONNX: a free batch, in onnxruntime

A Keras kind admits a dimension when every sampled case builds with it free and runs at two
sizes in Keras (``SPATIAL_KINDS``, ``TIME_KINDS`` in harness/sources/keras/axes.py); an ONNX
kind admits a free batch when every drawn case that can have one reads in onnxruntime at two
batches, the outputs' batch following; one that does not is declared ``free_batch=False`` in
its family file (harness/sources/onnx/axes.py).
"""

from __future__ import annotations

import sys

import numpy as np

from harness.core import registry
from harness.core.frameworks import prepare_imports
from harness.core.free_dims import BATCH, SPATIAL, TIME, admitted, free_axes, with_free
from harness.core.inputs import make_inputs
from harness.core.source_registry import get as get_source
from harness.core.strategies import sample
from harness.core.tolerance import TolerancePolicy
from harness.sources.keras.axes import blocked
from harness.sources.keras.model import build_model, run_keras
from harness.sources.onnx.axes import onnx_batch_follows

ONNX = "onnx"


def measure(kind_name: str, name: str, n: int = 6) -> tuple[int, list[str]]:
    """Builds ``n`` drawn cases of a Keras kind with ``name`` free (where a case has axes to
    free) and calls each at its two sizes in Keras: (cases tried, one line per failure)."""
    tried, failures = 0, []
    for spec in sample(kind_name, n):
        if not any(free_axes(spec, name)) or blocked(spec.kind, spec.attrs, spec.input_shapes,
                                                     name):
            continue
        tried += 1
        case = with_free(spec, (name,))
        try:
            model = build_model(case)
            for shapes in case.all_shapes:
                run_keras(model, make_inputs(case.at_shapes(shapes)))
        except Exception as exc:  # noqa: BLE001 (what Keras refuses is the measurement)
            failures.append(f"{case.describe()}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160] if str(exc) else ''}")
    return tried, failures


def measure_onnx(kind_name: str, n: int = 6) -> tuple[int, list[str]]:
    """Reads ``n`` drawn cases of an ONNX kind whose configuration can have a free batch
    (``onnx_batch_follows``), built with it declared symbolic, in onnxruntime (and onnx's
    reference evaluator) at their first and a further batch: (cases tried, one line per
    case whose reading fails or whose outputs' batch does not follow)."""
    kind = registry.get(kind_name, ONNX)
    source, policy = get_source(ONNX), TolerancePolicy()
    tried, failures = 0, []
    for spec in sample(kind_name, n, source=ONNX):
        if not onnx_batch_follows(kind, spec.attrs, spec.input_shapes, spec.dtype):
            continue
        tried += 1
        case = with_free(spec, (BATCH,))
        try:
            reading = source.read(case, policy=policy)
        except Exception as exc:  # noqa: BLE001 (what onnxruntime refuses is the measurement)
            failures.append(f"{case.describe()}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
            continue
        ((shapes, _, further, *_),) = reading.more
        first = [tuple(np.shape(y)) for y in reading.reference]
        found = [tuple(np.shape(y)) for y in further]
        batch = shapes[0][0]
        if found != [(batch, *s[1:]) if s else s for s in first] or not all(first):
            failures.append(f"{case.describe()}: outputs {first} at the first batch, "
                            f"{found} at batch {batch}")
    return tried, failures


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - prints the measured table
    args = list(sys.argv[1:] if argv is None else argv)
    if "--onnx" in args:
        args.remove("--onnx")
        main_onnx(int(args[0]) if args else 6)
        return
    prepare_imports()
    count = int(args[0]) if args else 6
    for kind in registry.kinds():
        if not admitted(kind):
            continue
        for name in (SPATIAL, TIME):
            tried, failures = measure(kind.name, name, count)
            if tried:
                verdict = "admits" if not failures else f"fails {len(failures)}/{tried}"
                print(f"{kind.name:24} {name:8} {verdict}", flush=True)
                for line in failures[:3]:
                    print(f"    {line}", flush=True)


def main_onnx(count: int) -> None:  # pragma: no cover - prints the measured table
    """``--onnx [N]``: per ONNX kind, whether its drawn cases that can have a free batch read
    at two batches, and the kinds that do not (to be declared ``free_batch=False``)."""
    refuses = []
    for kind in registry.kinds(ONNX):
        tried, failures = measure_onnx(kind.name, count)
        if not tried:
            verdict = f"none of {count} drawn cases can have a free batch"
            refuses.append(kind.name)
        elif failures:
            verdict = f"fails {len(failures)}/{tried}"
            refuses.append(kind.name)
        else:
            verdict = f"admits ({tried}/{count} drawn cases free)"
        print(f"{kind.name:26} {verdict}", flush=True)
        for line in failures[:3]:
            print(f"    {line}", flush=True)
    print(f"no free batch ({len(refuses)}): {', '.join(sorted(refuses))}")


if __name__ == "__main__":  # pragma: no cover
    main()
