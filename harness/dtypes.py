"""Which dtypes a kind is drawn in besides float32, and how a source builds them.

``float16``/``float64``/``bfloat16`` build every layer in that dtype (inputs, weights and
outputs); ``mixed_float16`` is Keras' mixed-precision policy: float32 inputs and variables,
float16 computation and outputs. docs/dtypes.md has the measurements behind ``admitted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness import registry
from harness.registry import LayerKind

MIXED = "mixed_float16"
KERAS_DTYPES = ("float16", "float64", MIXED)
# Measured and left out (docs/dtypes.md): onnxruntime's CPU provider has no bfloat16 kernel
# for MatMul, Conv, Gemm, Softmax, ... so a bfloat16 case cannot run past its source.
NOT_DRAWN = ("bfloat16",)

# Kinds whose Keras source cannot be built in a dtype on the CPU (measured, docs/dtypes.md):
# kind -> {dtype: why}.
KERAS_REFUSED: dict[str, dict[str, str]] = {
    "MaxPooling3D": {"float64": "TensorFlow's MaxPool3D op takes half, bfloat16 and float only "
                                "(refused when the graph is built, so XLA cannot stand in)"},
    "Resizing": {"float64": "TensorFlow's ResizeBilinear/ResizeBicubic return float32 whatever "
                            "the input: the float64 reference is float32-rounded (a 1x1 resize "
                            "moves its input by 1e-8), so it cannot judge a float64 leg"},
}


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The dtypes besides float32 that ``kind`` is drawn in."""
    if kind.source != registry.KERAS or kind.tags & registry.WHOLE_MODELS:
        return ()
    refused = KERAS_REFUSED.get(kind.name, {})
    return tuple(dtype for dtype in KERAS_DTYPES if dtype not in refused)


def array_dtype(dtype: str) -> str:
    """The NumPy dtype of a case's float inputs: a policy's variable dtype for a policy."""
    return "float32" if dtype == MIXED else dtype


@contextmanager
def keras_policy(dtype: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``dtype`` (a dtype or a policy name) while layers
    are built, so that every layer, nested ones (wrappers, attention's projections, a
    model's nodes) included, computes in it; the previous policy is restored after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def calibrate(per_kind: int, dtypes: tuple[str, ...] = KERAS_DTYPES, rtol: float = 1e-3):
    """Per dtype: the largest atol any leg needed at ``rtol`` and the largest absolute and
    relative errors, over ``per_kind`` drawn cases of every admitted Keras kind run down the
    default paths (docs/dtypes.md). Errors and known issues are left out."""
    from harness.frameworks import prepare_imports

    prepare_imports()
    import harness.layers  # noqa: F401  (registers the Keras kinds)
    from harness.pipeline import Harness
    from harness.strategies import sample
    from harness.tolerance import TolerancePolicy

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


if __name__ == "__main__":
    import sys

    for name, row in calibrate(int(sys.argv[1]) if len(sys.argv) > 1 else 4).items():
        print(name, row)
