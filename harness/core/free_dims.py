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
with the dimension free and calls it at two sizes in Keras (``python -m harness.core.free_dims``
prints the table; tests/test_free_dims.py re-measures a sample). Some configurations of an
admitted kind cannot be free (an unrolled RNN needs its steps; a PReLU's slopes or a
normalisation's weights span the axis): ``applicable`` drops the dimension for those cases.

ONNX kinds (source ``onnx``) admit a free batch only: dimension 0 of each *batched* graph
input, one whose rank and first dimension equal the first input's (``onnx_batched``); a
broadcast operand of lower rank, or whose first dimension differs, stays fixed. The model
declares it symbolic (``dim_param: "N"``, as exporters write it). A configuration can have
it free when its op does not mix the samples (no ``axis``/``axes`` naming dimension 0) and
ONNX's shape inference, with the batched inputs at every other batch, gives every output the
first size's shape with that batch as its first dimension (``onnx_batch_follows``): a
reduction or a Reshape to a constant shape over the batch keeps it fixed. Which kinds admit
it is measured in onnxruntime (``measure_onnx``; ``python -m harness.core.free_dims --onnx``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core import registry
from harness.core.registry import LayerKind
from harness.core.spec import LayerSpec

BATCH = "batch"
SPATIAL = "spatial"
TIME = "time"
NAMES = (BATCH, SPATIAL, TIME)
MAX_BATCH = 4
MAX_GROWTH = 3  # a free spatial or time axis grows by 1..MAX_GROWTH at the further size

# Measured with ``python -m harness.core.free_dims`` (keras 3.15, tensorflow 2.21): every sampled
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

ONNX = "onnx"
# Measured with ``python -m harness.core.free_dims --onnx 16`` (onnx 1.23, onnxruntime 1.31): every
# drawn case of these ONNX kinds whose configuration can have a free batch
# (``onnx_batch_follows``) reads in onnxruntime at two batches, the outputs' batch following.
# Left out: no drawn case can (Shape, Size, Range, ConstantOfShape, NonZero, Unique, Compress,
# AffineGrid, RoiAlign, MaxRoiPool, ReverseSequence, GroupNormalization, SamePadConv), or a
# constant index input pins the batch where shape inference does not see it (ScatterND,
# ScatterElements, MaxUnpool).
ONNX_BATCH_KINDS = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
    "AveragePool", "BatchNormalization", "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr",
    "BitwiseXor", "Cast", "CastLike", "Ceil", "Celu", "CenterCropPad", "Clip", "Col2Im",
    "Concat", "Conv", "ConvBnRelu", "ConvTranspose", "Cos", "Cosh", "CumSum", "DeformConv",
    "DepthToSpace", "Det", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand",
    "EyeLike", "FcAsConv", "Flatten", "FlattenGemm", "Floor", "GRU", "Gather",
    "GatherElements", "GatherND", "Gelu", "Gemm", "GemmChain", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "GlobalPoolHead", "Greater", "GreaterOrEqual",
    "GridSample", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization",
    "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu", "LegacyOpsetNet",
    "Less", "LessOrEqual", "Log", "LogSoftmax", "LpNormalization", "LpPool", "MatMul",
    "MatMulInteger", "Max", "MaxPool", "Mean", "MeanSubtract", "MeanVarianceNormalization",
    "Min", "Mish", "Mod", "Mul", "Neg", "Not", "OneHot", "Or", "PRelu", "Pad", "PadConv",
    "PixelShuffle", "Pow", "RNN", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
    "ReduceSumSquare", "Relu", "Reshape", "Resize", "ResizeGraph", "Round", "Selu",
    "ShapeChain", "Sigmoid", "Sign", "Sin", "Sinh", "Slice", "Softmax", "Softplus", "Softsign",
    "SpaceToDepth", "Split", "SplitConcat", "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh",
    "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Where", "Xor"
})


def admitted(kind: LayerKind) -> tuple[str, ...]:
    """The free dimensions ``kind`` admits, ``batch`` first."""
    if kind.tags & registry.WHOLE_MODELS:
        return ()
    if kind.source == ONNX:
        return (BATCH,) if kind.name in ONNX_BATCH_KINDS else ()
    if kind.source != registry.KERAS:
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


# Recurrent ops in layout 0 take X as (steps, batch, features) but their initial states as
# (directions, batch, hidden): dimension 0 of X (its steps) is the one free there.
ONNX_RECURRENT = frozenset({"RNN", "GRU", "LSTM"})


def onnx_batched(shapes, kind: str | None = None,
                 attrs: dict[str, Any] | None = None) -> list[bool]:
    """Per graph input of an ONNX case, whether dimension 0 is the batch: it is where the
    input's rank (at least 1) and first dimension equal the first input's (a recurrent op
    in layout 0: its first input only)."""
    shapes = [tuple(s) for s in shapes]
    if not shapes or not shapes[0]:
        return [False] * len(shapes)
    first = shapes[0]
    if kind in ONNX_RECURRENT and not (attrs or {}).get("layout", 0):
        return [i == 0 for i in range(len(shapes))]
    if kind == "Einsum":
        return _einsum_batched(str((attrs or {}).get("equation", "")), len(shapes))
    return [len(s) == len(first) and s[0] == first[0] for s in shapes]


def _einsum_batched(equation: str, count: int) -> list[bool]:
    """An Einsum's batch is the first input's first subscript where the output starts with
    it: the operands whose first subscript it is are batched ('ij,jk->ik' has one batched
    operand, not two: shape inference does not tie j of the second to the first's)."""
    terms, _, output = equation.replace(" ", "").partition("->")
    operands = terms.split(",")
    letter = operands[0][:1]
    if not letter.isalpha() or not output.startswith(letter) or len(operands) != count:
        return [False] * count
    # A subscript repeated in one operand ('ii->i', a diagonal) ties the batch to another
    # dimension of that operand.
    return [term.startswith(letter) and term.count(letter) == 1 for term in operands]


def _axes(kind: str, attrs: dict[str, Any], shapes, name: str,
          source: str = registry.KERAS) -> list[tuple[int, ...]]:
    if name == BATCH:
        if source == ONNX:
            return [(0,) if batched else () for batched in onnx_batched(shapes, kind, attrs)]
        return [(0,) for _ in shapes]
    if name == SPATIAL:
        return [_spatial_axes(kind, attrs, tuple(s)) for s in shapes]
    if name == TIME:
        return [(1,) if len(s) >= 3 else () for s in shapes]
    raise ValueError(f"{kind}: unknown free dimension {name!r}; known: {', '.join(NAMES)}")


def free_axes(spec: LayerSpec, name: str) -> list[tuple[int, ...]]:
    """Per input, the dimensions that ``name`` frees in ``spec``."""
    return _axes(spec.kind, spec.attrs, spec.input_shapes, name, spec.source)


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


def applicable(kind: LayerKind, attrs: dict[str, Any], shapes,
               dtype: str = "float32") -> tuple[str, ...]:
    """The admitted dimensions that this configuration of ``kind`` (in ``dtype``) can have
    free: the ones with axes to free, less those the configuration needs fixed (found by
    ``measure``)."""
    if kind.source == ONNX:
        admits = BATCH in admitted(kind) and onnx_batch_follows(kind, attrs, shapes, dtype)
        return (BATCH,) if admits else ()
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


# Attributes (and inputs, by their schema names) that name the axes an ONNX op works along.
ONNX_AXIS_NAMES = ("axis", "axes", "batch_axis", "time_axis")
# Ops whose axis names a dimension of their output, not of their input (the probe decides).
ONNX_OUTPUT_AXES = frozenset({"OneHot", "Unsqueeze"})


def onnx_mixes_batch(kind: str, attrs: dict[str, Any], shapes) -> bool:
    """Whether a single-op ONNX case works along dimension 0 of its first input (its axis or
    axes, as an attribute or a constant input, name it): a softmax, a cumulative sum or a
    normalisation over the batch mixes the samples, so dimension 0 is no batch there."""
    from harness.sources.onnx.build import OPERANDS
    from harness.sources.onnx.op import OP_TYPES, schema, schema_defaults

    if kind not in OP_TYPES or kind in ONNX_OUTPUT_AXES or not shapes or not shapes[0]:
        return False
    rank = len(shapes[0])
    op_type, domain = OP_TYPES[kind]
    opset = int(attrs.get("opset", 17))
    op = schema(op_type, opset, domain)
    given = {**schema_defaults(kind, opset), **{k: v for k, v in attrs.items() if v is not None}}
    named = [given[key] for key in ONNX_AXIS_NAMES if key in given]
    operands = attrs.get(OPERANDS) or []
    if any(isinstance(o, dict) and "const" in o for o in operands):
        formal = op.inputs
        for position, operand in enumerate(operands):
            name = formal[min(position, len(formal) - 1)].name
            if name in ONNX_AXIS_NAMES and isinstance(operand, dict) and "const" in operand:
                named.append(operand["const"])
    for value in named:
        for axis in np.ravel(np.asarray(value)).tolist():
            if isinstance(axis, int) and axis % rank == 0:
                return True
    return kind == "Pad" and _pads_batch(attrs, rank)


def _pads_batch(attrs: dict[str, Any], rank: int) -> bool:
    """Whether a Pad pads or crops dimension 0: its pads (an attribute before opset 11, a
    constant input since) hold a begin and an end per axis, of every axis or of those its
    constant axes input names; a pad there moves the samples along the batch (an edge pad
    repeats the first sample), so dimension 0 is no batch, though its size may not change."""
    from harness.sources.onnx.build import OPERANDS

    operands = [o.get("const") if isinstance(o, dict) else None
                for o in attrs.get(OPERANDS) or []]
    pads = attrs.get("pads", operands[1] if len(operands) > 1 else None)
    if pads is None:
        return False
    pads = [int(p) for p in np.ravel(np.asarray(pads))]
    axes = operands[3] if len(operands) > 3 and operands[3] is not None else range(rank)
    axes = [int(a) % rank for a in np.ravel(np.asarray(list(axes)))]
    count = len(axes)
    return any(pads[i] or pads[i + count] for i, a in enumerate(axes)
               if a == 0 and i + count < len(pads))


@functools.lru_cache(maxsize=4096)
def _onnx_batch_follows(kind_name: str, attrs_json: str, shapes: tuple, dtype: str) -> bool:
    from harness.sources.onnx.build import redeclare_inputs

    kind = registry.get(kind_name, ONNX)
    attrs = json.loads(attrs_json)
    batched = onnx_batched(shapes, kind_name, attrs)
    if not any(batched) or onnx_mixes_batch(kind_name, attrs, shapes) \
            or _pinned_by_operand(attrs, shapes):
        return False
    try:
        model = kind.build_model(dict(attrs), [tuple(s) for s in shapes], dtype)
    except Exception:  # noqa: BLE001 (the source refuses it too: no case to free)
        return False
    first = _output_shapes(model)
    batch = shapes[0][0]
    if first is None or any(not shape or shape[0] != batch for shape in first):
        return False
    for other in range(1, MAX_BATCH + 1):
        if other == batch:
            continue
        at = [(other, *s[1:]) if b else s for s, b in zip(shapes, batched)]
        try:
            found = _output_shapes(redeclare_inputs(model, at))
        except Exception:  # noqa: BLE001 (shape inference refuses the other batch)
            return False
        if found != [(other, *shape[1:]) for shape in first]:
            return False
    return True


def _pinned_by_operand(attrs: dict[str, Any], shapes) -> bool:
    """Whether a constant or weight operand of a single-op case has the first input's rank
    and its batch (above 1) as its first dimension: a Gemm's bias of shape (M, N) pins M,
    which shape inference does not check."""
    from harness.sources.onnx.build import OPERANDS

    rank, batch = len(shapes[0]), shapes[0][0]
    if batch == 1:
        return False
    for operand in attrs.get(OPERANDS) or []:
        if isinstance(operand, dict) and "weight" in operand:
            shape = tuple(operand["weight"])
        elif isinstance(operand, dict) and "const" in operand:
            shape = np.shape(operand["const"])
        else:
            continue
        if len(shape) == rank and shape[0] == batch:
            return True
    return False


def _output_shapes(model) -> list[tuple[int, ...]] | None:
    """The graph outputs' shapes, or None where one has no shape or an unknown dimension."""
    shapes = []
    for output in model.graph.output:
        tensor = output.type.tensor_type
        if not tensor.HasField("shape"):
            return None
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        if None in dims:
            return None
        shapes.append(tuple(dims))
    return shapes


def onnx_batch_follows(kind: LayerKind, attrs: dict[str, Any], shapes,
                       dtype: str = "float32") -> bool:
    """Whether this configuration of an ONNX kind can have its batch free: it has batched
    inputs, its op does not work along the batch (``onnx_mixes_batch``), and ONNX's shape
    inference, with the batched inputs at every other batch up to MAX_BATCH in the model
    built at the case's own shapes, gives each output the same shape but its first
    dimension, which is the batch (a Reshape to a constant shape, a reduction or a Concat
    over the batch keeps it fixed)."""
    from harness.core.spec import canonical_json

    return _onnx_batch_follows(kind.name, canonical_json(attrs),
                               tuple(tuple(int(d) for d in s) for s in shapes), dtype)


def further_shapes(shapes, free: tuple[str, ...], kind: str, attrs: dict[str, Any],
                   batch: int, growth: list[int], source: str = registry.KERAS
                   ) -> tuple[tuple[int, ...], ...]:
    """The input shapes at the further size: batch ``batch`` (in each input that has one),
    each free spatial or time axis grown by its entry of ``growth`` (one per axis of the
    first input, in order)."""
    grown = []
    batch_axes = _axes(kind, attrs, shapes, BATCH, source)
    for index, shape in enumerate(shapes):
        new = list(shape)
        for axis in batch_axes[index]:
            new[axis] = batch
        axes = [a for name in free if name != BATCH
                for a in _axes(kind, attrs, shapes, name)[index]]
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
    count = len([a for n in free if n != BATCH for a in _axes(kind.name, attrs, shapes, n)[0]])
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
                 for a in _axes(spec.kind, spec.attrs, spec.input_shapes, n)[0]])
    more = further_shapes(spec.input_shapes, free, spec.kind, spec.attrs, other,
                          [growth] * count, spec.source)
    return replace(spec, free_dims=free, more_shapes=(more,))


def measure(kind_name: str, name: str, n: int = 6) -> tuple[int, list[str]]:
    """Builds ``n`` drawn cases of a kind with ``name`` free (where a case has axes to free)
    and calls each at its two sizes in Keras: (cases tried, one line per failure)."""
    from harness.core.inputs import make_inputs
    from harness.core.strategies import sample
    from harness.sources.keras.model import build_model, run_keras

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
    from harness.core.strategies import sample
    from harness.core.tolerance import TolerancePolicy
    from harness.sources import get

    kind = registry.get(kind_name, ONNX)
    source, policy = get(ONNX), TolerancePolicy()
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
        ((shapes, _, further),) = reading.more
        first = [tuple(np.shape(y)) for y in reading.reference]
        found = [tuple(np.shape(y)) for y in further]
        batch = shapes[0][0]
        if found != [(batch, *s[1:]) if s else s for s in first] or not all(first):
            failures.append(f"{case.describe()}: outputs {first} at the first batch, "
                            f"{found} at batch {batch}")
    return tried, failures


def main() -> None:  # pragma: no cover - prints the measured table
    import sys

    from harness.core.frameworks import prepare_imports

    args = sys.argv[1:]
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
    """``python -m harness.core.free_dims --onnx [N]``: per ONNX kind, whether its drawn cases
    that can have a free batch read at two batches, and the table of those that all do."""
    import harness.sources.onnx.kinds  # noqa: F401 (registers the ONNX kinds)

    admits = []
    for kind in registry.kinds(ONNX):
        tried, failures = measure_onnx(kind.name, count)
        if not tried:
            verdict = f"none of {count} drawn cases can have a free batch"
        elif failures:
            verdict = f"fails {len(failures)}/{tried}"
        else:
            verdict = f"admits ({tried}/{count} drawn cases free)"
            admits.append(kind.name)
        print(f"{kind.name:26} {verdict}", flush=True)
        for line in failures[:3]:
            print(f"    {line}", flush=True)
    print(f"ONNX_BATCH_KINDS ({len(admits)}): {', '.join(sorted(admits))}")


if __name__ == "__main__":  # pragma: no cover
    main()
