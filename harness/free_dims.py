"""Free dimensions: which a kind admits, how a source declares them, and the further sizes
every leg runs at.

A case with ``free_dims=("batch", "spatial")`` is built with its batch and spatial
dimensions free (``None``), and its legs run at ``input_shapes`` and at each of
``more_shapes``: a converter that bakes a size in fails at the size that broke it.

- ``batch``: the first dimension of every input; every layer and drawn model admits it.
- ``spatial``: the axes between batch and channels (``data_format`` says where the channels
  are; a kind without it keeps them last) of a layer that is fully convolutional, pooling,
  upsampling, padding, cropping, normalising over channels or elementwise.
- ``time``: the steps axis (axis 1) of a recurrent layer or of a wrapper over time.

Which kinds admit spatial and time is measured, not guessed: ``measure`` builds each kind
with the dimension free and calls it at two sizes in Keras (``python -m harness.free_dims``
prints the table; tests/test_free_dims.py re-measures a sample). Some configurations of an
admitted kind cannot be free (an unrolled RNN needs its steps; a PReLU's slopes or a
normalisation's weights span the axis): ``applicable`` drops the dimension for those cases.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from harness import registry
from harness.registry import LayerKind
from harness.spec import LayerSpec

BATCH = "batch"
SPATIAL = "spatial"
TIME = "time"
NAMES = (BATCH, SPATIAL, TIME)
MAX_BATCH = 4
MAX_GROWTH = 3  # a free spatial or time axis grows by 1..MAX_GROWTH at the further size

# Measured with ``python -m harness.free_dims`` (keras 3.15, tensorflow 2.21): every sampled
# case of these kinds builds with the dimension free and runs at two sizes in Keras.
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


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The free dimensions ``kind`` admits, ``batch`` first."""
    if kind.source != registry.KERAS or kind.tags & registry.WHOLE_MODELS:
        return ()
    extra = [name for name, kinds in ((SPATIAL, SPATIAL_KINDS), (TIME, TIME_KINDS))
             if kind.name in kinds]
    return (BATCH, *extra)


def _spatial_axes(kind: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> tuple:
    rank = len(shape)
    if rank < 3:
        return ()
    if attrs.get("data_format") == "channels_first":
        return tuple(range(2, rank))
    return tuple(range(1, rank - 1))


def _axes(kind: str, attrs: dict[str, Any], shapes, name: str) -> list[tuple[int, ...]]:
    if name == BATCH:
        return [(0,) for _ in shapes]
    if name == SPATIAL:
        return [_spatial_axes(kind, attrs, tuple(s)) for s in shapes]
    if name == TIME:
        return [(1,) if len(s) >= 3 else () for s in shapes]
    raise ValueError(f"{kind}: unknown free dimension {name!r}; known: {', '.join(NAMES)}")


def free_axes(spec: LayerSpec, name: str) -> list[tuple[int, ...]]:
    """Per input, the dimensions that ``name`` frees in ``spec``."""
    return _axes(spec.kind, spec.attrs, spec.input_shapes, name)


def declared_shape(spec: LayerSpec, index: int) -> tuple[int | None, ...]:
    """Input ``index``'s shape as the source model declares it: free dimensions are None."""
    shape: list[int | None] = list(spec.input_shapes[index])
    for name in spec.free_dims:
        for axis in free_axes(spec, name)[index]:
            shape[axis] = None
    return tuple(shape)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def applicable(kind: LayerKind, attrs: dict[str, Any], shapes) -> tuple[str, ...]:
    """The admitted dimensions that this configuration of ``kind`` can have free: the ones
    with axes to free, less those the configuration needs fixed (found by ``measure``)."""
    found = []
    for name in admitted(kind):
        axes = _axes(kind.name, attrs, shapes, name)
        if not any(axes):
            continue
        if not blocked(kind.name, attrs, shapes, name):
            found.append(name)
    return tuple(found)


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
    axes = set(_axes(kind, attrs, shapes, name)[0])
    if kind == "PReLU":  # one slope per element unless shared along every free axis
        return not axes <= {a % rank for a in _as_list(attrs.get("shared_axes"))}
    if kind in NORMALISING:
        return bool({a % rank for a in _as_list(attrs.get("axis"))} & axes)
    return False


def further_shapes(shapes, free: tuple[str, ...], kind: str, attrs: dict[str, Any],
                   batch: int, growth: list[int]) -> tuple[tuple[int, ...], ...]:
    """The input shapes at the further size: batch ``batch``, each free spatial or time axis
    grown by its entry of ``growth`` (one per axis of the first input, in order)."""
    grown = []
    for index, shape in enumerate(shapes):
        new = list(shape)
        new[0] = batch
        axes = [a for name in free if name != BATCH
                for a in _axes(kind, attrs, shapes, name)[index]]
        for axis, extra in zip(axes, growth):
            new[axis] += extra
        grown.append(tuple(new))
    return tuple(grown)


@st.composite
def draw_free(draw, kind: LayerKind, attrs: dict[str, Any],
              shapes: list[tuple[int, ...]], dims: tuple[str, ...] | None = None
              ) -> tuple[tuple[str, ...], tuple]:
    """(free_dims, more_shapes) for a case of ``kind``: batch free, and any other dimension
    this configuration admits (``applicable``) free or not, shrinking to batch only; one
    further size at which every leg runs too, with another batch (batch 1 and more) and each
    free axis grown, shrinking to the smallest growth. ``dims`` forces the free dimensions
    (each must be applicable)."""
    names = applicable(kind, attrs, shapes)
    if not names:
        return (), ()
    if dims is not None:
        unknown = set(dims) - set(names)
        if unknown:
            raise ValueError(f"{kind.name}{attrs}: cannot free {sorted(unknown)} here; "
                             f"this case admits {', '.join(names)}")
        free = tuple(n for n in NAMES if n in dims or n == BATCH)
    else:
        free = (BATCH, *(n for n in names if n != BATCH and draw(st.booleans())))
    batch = shapes[0][0]
    other = draw(st.sampled_from([b for b in range(1, MAX_BATCH + 1) if b != batch]))
    count = len([a for n in free if n != BATCH for a in _axes(kind.name, attrs, shapes, n)[0]])
    growth = [draw(st.integers(1, MAX_GROWTH)) for _ in range(count)]
    return free, (further_shapes(shapes, free, kind.name, attrs, other, growth),)


def with_free(spec: LayerSpec, dims: tuple[str, ...], batch: int | None = None,
              growth: int = 1) -> LayerSpec:
    """``spec`` with ``dims`` (and batch) free and one further size: another batch and every
    free axis grown by ``growth`` (tests, docs, measurement)."""
    free = tuple(n for n in NAMES if n in dims or n == BATCH)
    first = spec.input_shapes[0][0]
    other = batch if batch is not None else (2 if first == 1 else 1)
    count = len([a for n in free if n != BATCH
                 for a in _axes(spec.kind, spec.attrs, spec.input_shapes, n)[0]])
    more = further_shapes(spec.input_shapes, free, spec.kind, spec.attrs, other, [growth] * count)
    return replace(spec, free_dims=free, more_shapes=(more,))


def measure(kind_name: str, name: str, n: int = 6) -> tuple[int, list[str]]:
    """Builds ``n`` drawn cases of a kind with ``name`` free (where a case has axes to free)
    and calls each at its two sizes in Keras: (cases tried, one line per failure)."""
    from harness.inputs import make_inputs
    from harness.keras_source import build_model, run_keras
    from harness.strategies import sample

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


def main() -> None:  # pragma: no cover - prints the measured table
    import sys

    from harness.frameworks import prepare_imports

    prepare_imports()
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 6
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


if __name__ == "__main__":  # pragma: no cover
    main()
