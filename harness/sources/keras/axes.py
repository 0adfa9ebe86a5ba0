"""What the Keras source's kinds admit along the axes (harness.core.axes), registered into
``harness.core.admission`` when the Keras kinds load, and how a Keras model is built in a
dtype (``keras_policy``).

Every layer is built in float16, float64 and under the ``mixed_float16`` policy
(``KERAS_DTYPES``) but those it cannot be built in on the CPU (``KERAS_REFUSED``, measured:
docs/dtypes.md). Every layer admits a free batch; the spatial and time dimensions are free in
the kinds measured to run at two sizes (``SPATIAL_KINDS``, ``TIME_KINDS``), less the
configurations that need them fixed (``blocked``). A kind's registration may declare its own
(``LayerKind(..., dtypes=..., free_dims=...)``), so that a new kind is one file.
"""

from __future__ import annotations

from typing import Any

from harness.core import admission
from harness.core.dtypes import MIXED
from harness.core.free_dims import BATCH, SPATIAL, TIME, axes_of
from harness.core.registry import KERAS, LayerKind

KERAS_DTYPES = ("float16", "float64", MIXED)
# Kinds whose Keras source cannot be built in a dtype on the CPU (measured, docs/dtypes.md):
# kind -> {dtype: why}.
KERAS_REFUSED: dict[str, dict[str, str]] = {
    "MaxPooling3D": {"float64": "TensorFlow's MaxPool3D op takes half, bfloat16 and float only "
                                "(refused when the graph is built, so XLA cannot stand in)"},
    "Resizing": {"float64": "TensorFlow's ResizeBilinear/ResizeBicubic return float32 whatever "
                            "the input: the float64 reference is float32-rounded (a 1x1 resize "
                            "moves its input by 1e-8), so it cannot judge a float64 leg"},
}

# Measured with ``python -m harness.tools.measure_free_dims`` (keras 3.15, tensorflow 2.21):
# every sampled case of these kinds builds with the dimension free and runs at two sizes in
# Keras.
SPATIAL_KINDS = frozenset({
    # conv
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    # pooling
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    # upsampling, padding, cropping, resizing
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "Resizing",
    # elementwise and normalising over channels
    "Activation", "ELU", "LeakyReLU", "ReLU", "PReLU", "Softmax", "Dropout", "Rescaling",
    "BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization",
    "Normalization", "Dense", "Masking", "CustomAffine", "CustomOps", "CustomScale",
    # merging (Dot's axes mean other things in each input)
    "Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
    # reshaping that carries a free axis through
    "Flatten", "Permute",
})
# Recurrent layers and wrappers over time; attention over a free sequence length.
TIME_KINDS = frozenset({"GRU", "LSTM", "SimpleRNN", "Bidirectional", "TimeDistributed",
                        "Attention", "MultiHeadAttention"})


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


NORMALISING = ("BatchNormalization", "GroupNormalization", "LayerNormalization", "Normalization")


def blocked(kind: str, attrs: dict[str, Any], shapes, name: str) -> bool:
    """Whether this configuration needs the axes ``name`` frees fixed (found by ``measure``):
    an unrolled RNN needs its steps; a PReLU's slopes, a normalisation's weights or
    statistics that span a free axis need its size."""
    if name == BATCH:
        return False
    if name == TIME and attrs.get("unroll"):
        return True
    rank = len(shapes[0])
    axes = set(axes_of(kind, attrs, shapes, name)[0])
    if kind == "PReLU":  # one slope per element unless shared along every free axis
        return not axes <= {a % rank for a in _as_list(attrs.get("shared_axes"))}
    if kind in NORMALISING:
        return bool({a % rank for a in _as_list(attrs.get("axis"))} & axes)
    return False


def free_dims(kind: LayerKind) -> tuple[str, ...]:
    """The free dimensions a Keras kind admits, ``batch`` first: as its registration declares
    them (``LayerKind(..., free_dims=...)``), else as measured here."""
    if kind.free_dims is not None:
        return kind.free_dims
    extra = [name for name, kinds in ((SPATIAL, SPATIAL_KINDS), (TIME, TIME_KINDS))
             if kind.name in kinds]
    return (BATCH, *extra)


def refused(kind: LayerKind) -> frozenset[str]:
    return frozenset(KERAS_REFUSED.get(kind.name, ()))


admission.register(KERAS, admission.Admission(
    dtypes=KERAS_DTYPES, refused=refused, free_dims=free_dims, blocked=blocked))
