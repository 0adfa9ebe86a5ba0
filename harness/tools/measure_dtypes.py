"""Measures the dtype axes (docs/dtypes.md): which dtypes each ONNX kind's draws give, and
the tolerances drawn Keras cases need in each dtype. Not imported by the harness::

    python -m harness.tools.measure_dtypes --onnx   # per ONNX kind, the dtypes its draws never give
    python -m harness.tools.measure_dtypes 4        # Keras: 4 cases a kind down the default paths

An ONNX kind declares the dtypes its draws give in its family file (``op_kind(...,
dtypes=)``); ``--onnx`` measures every kind's draws, and tests/test_dtypes.py holds each
declaration to the measurement.
"""

from __future__ import annotations

import sys

from harness.core import registry
from harness.core.dtypes import admitted
from harness.core.frameworks import prepare_imports
from harness.core.registry import Picker
from harness.core.strategies import sample, without_local_constants
from harness.core.tolerance import TolerancePolicy
from harness.run.pipeline import Harness
from harness.sources.keras.axes import KERAS_DTYPES
from harness.sources.onnx.axes import ONNX_DTYPES

ONNX = "onnx"


def draws_in(kind: registry.LayerKind, dtype: str, tries: int = 40) -> bool:
    """Whether ``kind``'s draw, forced to ``dtype``, gives a case in it within ``tries``
    derandomised draws: a kind that draws its own dtype admits the ``dtype`` axis then.
    Not for use inside a Hypothesis test (it runs Hypothesis' ``find``)."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    @st.composite
    def drawn_dtype(draw):
        drawn = kind.draw(Picker(draw, kind.domains, dtype=dtype))
        return drawn[2] if len(drawn) > 2 else None

    quiet = settings(max_examples=tries, derandomize=True, database=None,
                     phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    try:
        with without_local_constants():
            find(drawn_dtype(), lambda drawn: drawn == dtype, settings=quiet)
    except (NoSuchExample, Unsatisfiable):
        return False
    return True


def measure_onnx(kinds: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """The ONNX kinds (every one, or ``kinds``) whose draw never gives one of
    ``ONNX_DTYPES``: kind -> the dtypes it refuses (what its declaration leaves out)."""
    refused = {}
    for name in kinds or registry.names(source=ONNX):
        kind = registry.get(name, ONNX)
        if missing := tuple(d for d in ONNX_DTYPES if not draws_in(kind, d)):
            refused[name] = missing
    return refused


def declared_onnx(kinds: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """The ONNX kinds (every one, or ``kinds``) whose declaration leaves out one of
    ``ONNX_DTYPES``: kind -> those it leaves out (what ``measure_onnx`` should find)."""
    refused = {}
    for name in kinds or registry.names(source=ONNX):
        drawn = admitted(registry.get(name, ONNX))
        if missing := tuple(d for d in ONNX_DTYPES if d not in drawn):
            refused[name] = missing
    return refused


def calibrate(per_kind: int, dtypes: tuple[str, ...] = KERAS_DTYPES, rtol: float = 1e-3):
    """Per dtype: the largest atol any leg needed at ``rtol`` and the largest absolute and
    relative errors, over ``per_kind`` drawn cases of every admitted Keras kind run down the
    default paths (docs/dtypes.md). Errors and known issues are left out."""
    prepare_imports()
    harness_ = Harness(policy=TolerancePolicy({d: (0.0, rtol) for d in dtypes}, rules=[]))
    figures = {}
    for dtype in dtypes:
        worst = {"legs": 0, "required_atol": 0.0, "max_abs": 0.0, "max_rel": 0.0}
        for kind in registry.names(without=registry.WHOLE_MODELS):
            if dtype not in admitted(registry.get(kind)):
                continue
            for spec in sample(kind, per_kind, axis=dtype):
                for leg in harness_.run(spec).legs:
                    if leg.verdict in ("pass", "fail") and leg.metrics:
                        worst["legs"] += 1
                        for key in ("required_atol", "max_abs", "max_rel"):
                            worst[key] = max(worst[key], float(leg.metrics.get(key) or 0.0))
        figures[dtype] = worst
    return figures


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - prints the measurement
    args = sys.argv[1:] if argv is None else argv
    if args == ["--onnx"]:
        for name, refused in measure_onnx().items():
            print(f"{name}: {', '.join(refused)}")
    else:
        for name, row in calibrate(int(args[0]) if args else 4).items():
            print(name, row)


if __name__ == "__main__":  # pragma: no cover
    main()
