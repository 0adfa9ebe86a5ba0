"""Which dtypes a kind is drawn in besides float32.

``float16``/``float64``/``bfloat16`` build every layer in that dtype (inputs, weights and
outputs); ``mixed_float16`` is Keras' mixed-precision policy: float32 inputs and variables,
float16 computation and outputs. Each source says which dtypes it builds and which of its
kinds refuse one (``harness.core.admission``, registered by ``harness.sources.<name>.axes``);
a kind's family may narrow them (``LayerKind.dtypes``). docs/dtypes.md has the measurements
behind them (``python -m harness.tools.measure_dtypes``).
"""

from __future__ import annotations

from harness.core import admission, registry
from harness.core.registry import LayerKind

MIXED = "mixed_float16"
# Measured and left out (docs/dtypes.md): onnxruntime's CPU provider has no bfloat16 kernel
# for MatMul, Conv, Gemm, Softmax, ... so a bfloat16 case cannot run past its source.
NOT_DRAWN = ("bfloat16",)


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The dtypes besides float32 that ``kind`` is drawn in."""
    if kind.tags & registry.WHOLE_MODELS:
        return ()
    rules = admission.of(kind.source)
    refused = rules.refused(kind)
    return tuple(dtype for dtype in rules.dtypes if dtype not in refused
                 and (kind.dtypes is None or dtype in kind.dtypes))


def array_dtype(dtype: str) -> str:
    """The NumPy dtype of a case's float inputs: a policy's variable dtype for a policy."""
    return "float32" if dtype == MIXED else dtype
