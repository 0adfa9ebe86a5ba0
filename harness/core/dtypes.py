"""Which dtypes a kind is drawn in besides float32, and how a source builds them.

``float16``/``float64``/``bfloat16`` build every layer in that dtype (inputs, weights and
outputs); ``mixed_float16`` is Keras' mixed-precision policy: float32 inputs and variables,
float16 computation and outputs. docs/dtypes.md has the measurements behind ``admitted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.core import registry
from harness.core.registry import LayerKind

ONNX = "onnx"
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


ONNX_DTYPES = ("float16", "float64")
# An ONNX kind draws its own dtype from its op's type constraints, narrowed to what the
# runtimes have kernels for; drawn along a dtype axis it is forced to that dtype
# (``Picker.dtype``). These kinds' draws never give it (measured: ``measure_onnx``, printed
# by ``python -m harness.core.dtypes --onnx``; tests/test_dtypes.py measures them again).
ONNX_REFUSED: dict[str, tuple[str, ...]] = {
    **dict.fromkeys((
        # the drawn graphs build in float32
        "ConvBnRelu", "FcAsConv", "FlattenGemm", "GemmChain", "GlobalPoolHead",
        "LegacyOpsetNet", "MeanSubtract", "PadConv", "PixelShuffle", "ResizeGraph",
        "SamePadConv", "ShapeChain", "SplitConcat",
        # boolean, bitwise and integer ops; ops drawn in float32 only
        "And", "Or", "Xor", "Not", "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr",
        "BitwiseXor", "MatMulInteger", "Celu", "MeanVarianceNormalization",
    ), ONNX_DTYPES),
    **dict.fromkeys((
        # drawn without float64: the op's type constraint or a runtime's kernels leave it
        # out (each family file's dtype list says which)
        "Elu", "Gelu", "HardSigmoid", "HardSwish", "LeakyRelu", "Mish", "PRelu", "Selu",
        "Softplus", "Softsign", "ThresholdedRelu", "Col2Im", "Conv", "ConvTranspose",
        "NonZero", "OneHot", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Cosh", "Erf",
        "Mean", "Sinh", "Tan", "Det", "InstanceNormalization", "LRN", "LayerNormalization",
        "AveragePool", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "LpPool",
        "MaxRoiPool", "MaxUnpool", "GRU", "LSTM", "RNN", "Hardmax", "Resize",
    ), ("float64",)),
    **dict.fromkeys((
        # drawn without float16 (GridSample's implementations sample at their own
        # precision: harness/sources/onnx/ops/resize.py)
        "Unique", "IsInf", "AffineGrid", "GridSample", "EyeLike", "Range",
    ), ("float16",)),
}


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The dtypes besides float32 that ``kind`` is drawn in."""
    if kind.tags & registry.WHOLE_MODELS:
        return ()
    if kind.source == registry.KERAS:
        refused = KERAS_REFUSED.get(kind.name, {})
        return tuple(dtype for dtype in KERAS_DTYPES if dtype not in refused)
    if kind.source == ONNX:
        refused_onnx = ONNX_REFUSED.get(kind.name, ())
        return tuple(dtype for dtype in ONNX_DTYPES if dtype not in refused_onnx)
    return ()


def draws_in(kind: LayerKind, dtype: str, tries: int = 40) -> bool:
    """Whether ``kind``'s draw, forced to ``dtype``, gives a case in it within ``tries``
    derandomised draws: a kind that draws its own dtype admits the ``dtype`` axis then.
    Not for use inside a Hypothesis test (it runs Hypothesis' ``find``)."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    from harness.core.registry import Picker
    from harness.core.strategies import without_local_constants

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
    ``ONNX_DTYPES``: kind -> the dtypes it refuses (what ``ONNX_REFUSED`` records)."""
    import harness.sources.onnx.kinds  # noqa: F401  (registers the ONNX kinds)

    refused = {}
    for name in kinds or registry.names(source=ONNX):
        kind = registry.get(name, ONNX)
        if missing := tuple(d for d in ONNX_DTYPES if not draws_in(kind, d)):
            refused[name] = missing
    return refused


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
    from harness.core.frameworks import prepare_imports

    prepare_imports()
    import harness.sources.keras.kinds  # noqa: F401  (registers the Keras kinds)
    from harness.core.strategies import sample
    from harness.core.tolerance import TolerancePolicy
    from harness.run.pipeline import Harness

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

    if sys.argv[1:] == ["--onnx"]:
        for name, refused in measure_onnx().items():
            print(f"{name}: {', '.join(refused)}")
    else:
        for name, row in calibrate(int(sys.argv[1]) if len(sys.argv) > 1 else 4).items():
            print(name, row)
