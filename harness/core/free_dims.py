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

Which kinds admit which dimension is each source's (``harness.core.admission``, registered
by ``harness.sources.<name>.axes``), measured, not guessed: ``python -m
harness.tools.measure_free_dims`` builds each Keras kind with the dimension free and calls it
at two sizes, and with ``--onnx`` reads each ONNX kind at two batches in onnxruntime. Some
configurations of an admitted kind cannot be free (an unrolled RNN needs its steps; a PReLU's
slopes or a normalisation's weights span the axis): ``applicable`` drops the dimension for
those cases. A source may say which inputs have a batch (``Admission.batched``: an ONNX
broadcast operand of lower rank has none).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from harness.core import admission, registry
from harness.core.inputs import make_inputs
from harness.core.registry import LayerKind
from harness.core.spec import LayerSpec

BATCH = "batch"
SPATIAL = "spatial"
TIME = "time"
NAMES = (BATCH, SPATIAL, TIME)
MAX_BATCH = 4
MAX_GROWTH = 3  # a free spatial or time axis grows by 1..MAX_GROWTH at the further size


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The free dimensions ``kind`` admits, ``batch`` first."""
    if kind.tags & registry.WHOLE_MODELS:
        return ()
    return admission.of(kind.source).free_dims(kind)


def _spatial_axes(kind: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> tuple:
    rank = len(shape)
    if rank < 3:
        return ()
    if attrs.get("data_format") == "channels_first":
        return tuple(range(2, rank))
    return tuple(range(1, rank - 1))


def axes_of(kind: str, attrs: dict[str, Any], shapes, name: str,
            source: str = registry.KERAS) -> list[tuple[int, ...]]:
    """Per input of a case of ``source``'s ``kind``, the dimensions that ``name`` frees."""
    if name == BATCH:
        batched = admission.of(source).batched
        if batched is not None:
            return [(0,) if one else () for one in batched(shapes, kind, attrs)]
        return [(0,) for _ in shapes]
    if name == SPATIAL:
        return [_spatial_axes(kind, attrs, tuple(s)) for s in shapes]
    if name == TIME:
        return [(1,) if len(s) >= 3 else () for s in shapes]
    raise ValueError(f"{kind}: unknown free dimension {name!r}; known: {', '.join(NAMES)}")


def free_axes(spec: LayerSpec, name: str) -> list[tuple[int, ...]]:
    """Per input, the dimensions that ``name`` frees in ``spec``."""
    return axes_of(spec.kind, spec.attrs, spec.input_shapes, name, spec.source)


def declared_shape(spec: LayerSpec, index: int) -> tuple[int | None, ...]:
    """Input ``index``'s shape as the source model declares it: free dimensions are None."""
    shape: list[int | None] = list(spec.input_shapes[index])
    for name in spec.free_dims:
        for axis in free_axes(spec, name)[index]:
            shape[axis] = None
    return tuple(shape)


def applicable(kind: LayerKind, attrs: dict[str, Any], shapes,
               dtype: str = "float32") -> tuple[str, ...]:
    """The admitted dimensions that this configuration of ``kind`` (in ``dtype``) can have
    free: the ones with axes to free, less those the configuration needs fixed (its source's
    ``blocked``), or what its source decides (``Admission.applicable``)."""
    rules = admission.of(kind.source)
    if rules.applicable is not None:
        return rules.applicable(kind, attrs, shapes, dtype)
    found = []
    for name in admitted(kind):
        if any(axes_of(kind.name, attrs, shapes, name, kind.source)) \
                and not rules.blocked(kind.name, attrs, shapes, name):
            found.append(name)
    return tuple(found)


def further_shapes(shapes, free: tuple[str, ...], kind: str, attrs: dict[str, Any],
                   batch: int, growth: list[int], source: str = registry.KERAS
                   ) -> tuple[tuple[int, ...], ...]:
    """The input shapes at the further size: batch ``batch`` (in each input that has one),
    each free spatial or time axis grown by its entry of ``growth`` (one per axis of the
    first input, in order)."""
    grown = []
    batch_axes = axes_of(kind, attrs, shapes, BATCH, source)
    for index, shape in enumerate(shapes):
        new = list(shape)
        for axis in batch_axes[index]:
            new[axis] = batch
        axes = [a for name in free if name != BATCH
                for a in axes_of(kind, attrs, shapes, name)[index]]
        for axis, extra in zip(axes, growth):
            new[axis] += extra
        grown.append(tuple(new))
    return tuple(grown)


@st.composite
def draw_free(draw, kind: LayerKind, attrs: dict[str, Any],
              shapes: list[tuple[int, ...]], dims: tuple[str, ...] | None = None,
              dtype: str = "float32") -> tuple[tuple[str, ...], tuple]:
    """(free_dims, more_shapes) for a case of ``kind``: batch free, and any other dimension
    this configuration admits (``applicable``) free or not, shrinking to batch only; one
    further size at which every leg runs too, with another batch (batch 1 and more) and each
    free axis grown, shrinking to the smallest growth. ``dims`` forces the free dimensions
    (each must be applicable)."""
    names = applicable(kind, attrs, shapes, dtype)
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
    count = len([a for n in free if n != BATCH
                 for a in axes_of(kind.name, attrs, shapes, n)[0]])
    growth = [draw(st.integers(1, MAX_GROWTH)) for _ in range(count)]
    return free, (further_shapes(shapes, free, kind.name, attrs, other, growth, kind.source),)


def with_free(spec: LayerSpec, dims: tuple[str, ...], batch: int | None = None,
              growth: int = 1) -> LayerSpec:
    """``spec`` with ``dims`` (and batch) free and one further size: another batch and every
    free axis grown by ``growth`` (tests, docs, measurement)."""
    free = tuple(n for n in NAMES if n in dims or n == BATCH)
    first = spec.input_shapes[0][0]
    other = batch if batch is not None else (2 if first == 1 else 1)
    count = len([a for n in free if n != BATCH
                 for a in axes_of(spec.kind, spec.attrs, spec.input_shapes, n)[0]])
    more = further_shapes(spec.input_shapes, free, spec.kind, spec.attrs, other,
                          [growth] * count, spec.source)
    return replace(spec, free_dims=free, more_shapes=(more,))


def further_sizes(spec: LayerSpec, read_at, refusal, catch=(Exception,),
                  inputs_for=make_inputs) -> tuple:
    """A source's readings of a case with free dimensions at each further size: per size,
    ``(input shapes, inputs, *read_at(spec at that size, its inputs))``, the inputs drawn
    by the source's ``inputs_for``. ``refusal(shapes, exc)`` is the error raised (from
    ``exc``) where the source cannot read a size."""
    more = []
    for shapes in spec.more_shapes:
        at = spec.at_shapes(shapes)
        further = inputs_for(at)
        try:
            extra = read_at(at, further)
        except catch as exc:
            raise refusal(shapes, exc) from exc
        more.append((tuple(tuple(s) for s in shapes), further, *extra))
    return tuple(more)
