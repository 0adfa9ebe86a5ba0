"""Which dtypes a kind is drawn in besides float32, and how a source builds them.

``float16``/``float64``/``bfloat16`` build every layer in that dtype (inputs, weights and
outputs); ``mixed_float16`` is Keras' mixed-precision policy: float32 inputs and variables,
float16 computation and outputs.
"""

from __future__ import annotations

from harness import registry
from harness.registry import LayerKind

MIXED = "mixed_float16"
KERAS_DTYPES = ("float16", "float64", MIXED)


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The dtypes besides float32 that ``kind`` is drawn in."""
    if kind.source != registry.KERAS or kind.tags & registry.WHOLE_MODELS:
        return ()
    return KERAS_DTYPES


def array_dtype(dtype: str) -> str:
    """The NumPy dtype of a case's float inputs: a policy's variable dtype for a policy."""
    return "float32" if dtype == MIXED else dtype
