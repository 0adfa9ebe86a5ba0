"""Measures which drawn Keras kinds tf_keras builds as the same layer: the admission of
``harness.sources.keras.keras2_kinds.ADMITTED`` (the kinds whose cases gain the ``keras>tf-keras>...``
legs, tf2onnx as its Keras-2 users run it).

Not imported by the harness; run it after a Keras, tf_keras or strategy change and paste
what it prints into ``harness/sources/keras/keras2_kinds.py``::

    python -m harness.tools.keras2_measure [--per-kind 3]

A kind is admitted when, on each of its first ``--per-kind`` derandomised cases (float32,
as ``harness.core.strategies.sample`` draws them), the tf_keras twin builds (the ``tf-keras``
stage: the layer rebuilt from its own Keras 3 configuration, weights copied) and computes
what the Keras 3 layer computes within the case's own tolerance. Otherwise the first reason
it was refused is kept beside the kind.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness.converters import ConvertOptions
from harness.converters.keras2 import TfKerasConverter, run_tf_keras
from harness.core import registry
from harness.core.compare import worst_of
from harness.core.frameworks import prepare_imports
from harness.core.strategies import sample
from harness.core.tolerance import TolerancePolicy
from harness.sources import get


def measure(kind: str, per_kind: int) -> str | None:
    """None where tf_keras builds the kind's cases as the same layer; else why not."""
    source = get("keras")
    policy = TolerancePolicy()
    specs = sample(kind, per_kind)
    if not specs:
        return "no case is drawn"
    for spec in specs:
        try:
            reading = source.read(spec, policy=policy)
        except Exception as exc:  # noqa: BLE001  (a source that cannot build the case)
            return f"the Keras source cannot build it: {type(exc).__name__}"
        try:
            twin = TfKerasConverter().convert(reading.artifact, ConvertOptions())
        except Exception as exc:  # noqa: BLE001
            return " ".join(str(exc).split())[:160]
        outputs = run_tf_keras(twin.model, reading.inputs)
        tolerance = policy.for_spec(spec, "keras>tf-keras", "cpu")
        if len(outputs) != len(reading.reference) or not worst_of(
                outputs, [np.asarray(r) for r in reading.reference], tolerance).passed:
            return "the tf_keras twin computes something else"
    return None


def main(argv=None) -> int:
    prepare_imports()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=3)
    args = parser.parse_args(argv)
    admitted, refused = [], {}
    started = time.perf_counter()
    for kind in registry.names(without=registry.WHOLE_MODELS):
        why = measure(kind, args.per_kind)
        if why is None:
            admitted.append(kind)
        else:
            refused[kind] = why
    print(f"# measured by python -m harness.tools.keras2_measure --per-kind {args.per_kind} "
          f"({time.perf_counter() - started:.0f} s)")
    print("ADMITTED = (")
    for kind in admitted:
        print(f"    {kind!r},")
    print(")")
    print("REFUSED = {")
    for kind, why in refused.items():
        print(f"    {kind!r}: {why!r},")
    print("}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
