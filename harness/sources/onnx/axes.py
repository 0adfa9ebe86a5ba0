"""What the ONNX source's kinds admit along the axes (harness.core.axes), registered into
``harness.core.admission`` when the ONNX kinds load.

Dtypes: ``ONNX_DTYPES``, narrowed by each kind's declaration (``LayerKind.dtypes``, given in
its family file).

Free dimensions: a free batch only, dimension 0 of each *batched* graph input, one whose rank
and first dimension equal the first input's (``onnx_batched``); a broadcast operand of lower
rank, or whose first dimension differs, stays fixed. The model declares it symbolic
(``dim_param: "N"``, as exporters write it). A configuration can have it free when its op
does not mix the samples (no ``axis``/``axes`` naming dimension 0) and ONNX's shape
inference, with the batched inputs at every other batch, gives every output the first
size's shape with that batch as its first dimension (``onnx_batch_follows``): a reduction or
a Reshape to a constant shape over the batch keeps it fixed. Which kinds admit it is
measured in onnxruntime (``python -m harness.tools.measure_free_dims --onnx``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np

from harness.core import admission, registry
from harness.core.free_dims import BATCH, MAX_BATCH
from harness.core.registry import LayerKind
from harness.core.spec import canonical_json
from harness.sources.onnx.build import OPERANDS, redeclare_inputs
from harness.sources.onnx.op import OP_TYPES, SOURCE, schema, schema_defaults

# The dtypes besides float32 an ONNX case is built in. An ONNX kind draws its own dtype from
# its op's type constraints, narrowed to what the runtimes have kernels for; drawn along a
# dtype axis it is forced to that dtype (``Picker.dtype``). A kind whose draws never give one
# declares the dtypes it is drawn in (``op_kind(..., dtypes=)``, in its family file);
# tests/test_dtypes.py measures every kind's draws against its declaration
# (``python -m harness.tools.measure_dtypes --onnx`` prints the measurement).
ONNX_DTYPES = ("float16", "float64")

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


# Attributes (and inputs, by their schema names) that name the axes an ONNX op works along.
ONNX_AXIS_NAMES = ("axis", "axes", "batch_axis", "time_axis")
# Ops whose axis names a dimension of their output, not of their input (the probe decides).
ONNX_OUTPUT_AXES = frozenset({"OneHot", "Unsqueeze"})


def onnx_mixes_batch(kind: str, attrs: dict[str, Any], shapes) -> bool:
    """Whether a single-op ONNX case works along dimension 0 of its first input (its axis or
    axes, as an attribute or a constant input, name it; a GatherND without batch_dims indexes
    it): a softmax, a cumulative sum or a normalisation over the batch mixes the samples, so
    dimension 0 is no batch there."""
    if kind not in OP_TYPES or kind in ONNX_OUTPUT_AXES or not shapes or not shapes[0]:
        return False
    if kind == "GatherND" and not int(attrs.get("batch_dims") or 0):
        return True  # its index tuples start at dimension 0: indices valid at one batch
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
    kind = registry.get(kind_name, SOURCE)
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
    return _onnx_batch_follows(kind.name, canonical_json(attrs),
                               tuple(tuple(int(d) for d in s) for s in shapes), dtype)


def free_dims(kind: LayerKind) -> tuple[str, ...]:
    """A free batch, but for the kinds whose family declares none (``op_kind(...,
    free_batch=False)``). Measured with ``python -m harness.tools.measure_free_dims --onnx
    16`` (onnx 1.23, onnxruntime 1.31): every drawn case of the others whose configuration
    can have a free batch (``onnx_batch_follows``) reads in onnxruntime at two batches, the
    outputs' batch following. Left out: no drawn case can (Shape, Size, Range,
    ConstantOfShape, NonZero, Unique, Compress, AffineGrid, RoiAlign, MaxRoiPool,
    ReverseSequence, GroupNormalization, SamePadConv), or a constant index input pins the
    batch where shape inference does not see it (ScatterND, ScatterElements, MaxUnpool)."""
    return kind.free_dims if kind.free_dims is not None else (BATCH,)


def applicable(kind: LayerKind, attrs: dict[str, Any], shapes,
               dtype: str = "float32") -> tuple[str, ...]:
    """A free batch where the kind admits it and this configuration's outputs follow it."""
    admits = BATCH in free_dims(kind) and onnx_batch_follows(kind, attrs, shapes, dtype)
    return (BATCH,) if admits else ()


admission.register(SOURCE, admission.Admission(
    dtypes=ONNX_DTYPES, free_dims=free_dims, batched=onnx_batched, applicable=applicable))
