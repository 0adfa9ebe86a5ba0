"""Indexing: Gather, GatherElements, GatherND, ScatterND, ScatterElements, Slice, OneHot,
Trilu, Compress, NonZero, ReverseSequence, Unique.

Indices come two ways: a graph input of valid indices (``int_inputs``: uniform in
[0, bound)) or an int64 initializer drawn here, negative indices included, as exporters
write constant indices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import (
    INPUT_DTYPES,
    INT_INPUTS,
    OPERANDS,
    OPSET,
    OUTPUTS,
    VALUE_RANGE,
)
from harness.sources.onnx.op import opset_and_dtype
from harness.sources.onnx.ops.conv import kind, written
from harness.sources.onnx.ops.shape import ANY_DTYPE, const, dims

FAMILY = "indexing"

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)


def _data(pick: Picker, low_rank: int = 1) -> tuple[int, tuple[int, ...]]:
    rank = pick("rank", among=[r for r in pick.domain("rank") if r >= low_rank])
    return rank, dims(pick, rank)


def _axis(pick: Picker, rank: int, attrs: dict[str, Any]) -> int:
    """A valid axis (negative ones too), written unless it is the default 0 (then drawn)."""
    axis = pick("axis", among=[a for a in pick.domain("axis") if -rank <= a < rank])
    if axis != 0 or written(pick):
        attrs["axis"] = axis
    return axis


def _index_values(pick: Picker, shape: tuple[int, ...], bound: int) -> list:
    """Constant indices in [-bound, bound), as a nested list of ``shape``."""
    flat = [pick.draw(st.integers(-bound, bound - 1)) for _ in range(math.prod(shape))]
    return np.asarray(flat, dtype=np.int64).reshape(shape).tolist()


# -- Gather -----------------------------------------------------------------------------------

GATHER_DOMAINS = {"rank": [2, 1, 3, 4], "axis": [0, 1, -1, 2, -2, 3, -3, -4],
                  "operand_form": ["input", "const"], "form": ["int64", "int32"]}


def _draw_gather(pick: Picker):
    """Indices of rank 0-2: a graph input (int64 or int32) or a constant."""
    opset, dtype = opset_and_dtype(pick, "Gather", ANY_DTYPE)
    rank, shape = _data(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    axis = _axis(pick, rank, attrs)
    index_dtype = pick("form")
    if pick("operand_form") == "input":
        indices_shape = dims(pick, pick.draw(st.integers(1, 2)))
        attrs.update({INPUT_DTYPES: [None, index_dtype], INT_INPUTS: [None, shape[axis]]})
        return attrs, [shape, indices_shape], dtype
    indices_shape = dims(pick, pick.draw(st.integers(0, 2)))
    values = _index_values(pick, indices_shape, shape[axis])
    attrs[OPERANDS] = ["in", const(values, index_dtype)]
    return attrs, [shape], dtype


kind("Gather", FAMILY, _draw_gather, GATHER_DOMAINS)


def _draw_gather_elements(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "GatherElements", ANY_DTYPE)
    rank, shape = _data(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    axis = _axis(pick, rank, attrs)
    indices_shape = tuple(pick.draw(st.integers(1, 3)) if i == axis % rank
                          else pick.draw(st.integers(1, d)) for i, d in enumerate(shape))
    index_dtype = pick("form")
    if pick("operand_form") == "input":
        attrs.update({INPUT_DTYPES: [None, index_dtype], INT_INPUTS: [None, shape[axis]]})
        return attrs, [shape, indices_shape], dtype
    attrs[OPERANDS] = ["in", const(_index_values(pick, indices_shape, shape[axis]),
                                   index_dtype)]
    return attrs, [shape], dtype


kind("GatherElements", FAMILY, _draw_gather_elements, GATHER_DOMAINS)


def _draw_gather_nd(pick: Picker):
    """batch_dims b, index tuples of length m <= rank - b; constant tuples bounded per
    coordinate (negative ones too), input tuples bounded by the smallest indexed dim."""
    opset, dtype = opset_and_dtype(pick, "GatherND", ANY_DTYPE)
    rank, shape = _data(pick)
    batch_dims = pick("batch_dims", among=[b for b in pick.domain("batch_dims") if b < rank])
    attrs: dict[str, Any] = {OPSET: opset}
    if batch_dims or written(pick):
        attrs["batch_dims"] = batch_dims
    depth = pick.draw(st.integers(1, rank - batch_dims))
    # a scalar output (every dim indexed, nothing batched) is left shapeless by ONNX's
    # shape inference, which the full check rejects: such indices get a leading dim
    scalar = batch_dims == 0 and depth == rank
    indices_shape = (*shape[:batch_dims],
                     *dims(pick, pick.draw(st.integers(1 if scalar else 0, 2)), 1, 3), depth)
    indexed = shape[batch_dims:batch_dims + depth]
    if pick("operand_form") == "input":
        attrs.update({INPUT_DTYPES: [None, "int64"], INT_INPUTS: [None, min(indexed)]})
        return attrs, [shape, indices_shape], dtype
    flat = [pick.draw(st.integers(-indexed[j % depth], indexed[j % depth] - 1))
            for j in range(math.prod(indices_shape))]
    attrs[OPERANDS] = ["in", const(np.asarray(flat).reshape(indices_shape).tolist())]
    return attrs, [shape], dtype


kind("GatherND", FAMILY, _draw_gather_nd,
     {"rank": [2, 1, 3, 4], "batch_dims": [0, 1, 2], "operand_form": ["input", "const"]})


# -- ScatterND, ScatterElements ---------------------------------------------------------------

def _reduction(pick: Picker, opset: int) -> str:
    """none; add and mul from opset 16; max and min from 18."""
    return pick("reduction", among=[r for r in pick.domain("reduction")
                                    if r == "none" or (opset >= 16 and r in ("add", "mul"))
                                    or opset >= 18])


def _scatter_dtype(pick: Picker, op_type: str, reduction: str, opset: int) -> str:
    """onnxruntime's CPU scatters take every type without a reduction, and no float16 or
    bool with one."""
    among = ANY_DTYPE if reduction == "none" else ("float32", "float64", "int64", "int32",
                                                    "int8", "uint8")
    return opset_and_dtype(pick, op_type, among)[1]


SCATTER_DOMAINS = {"rank": [2, 1, 3], "reduction": ["none", "add", "mul", "max", "min"],
                   "axis": [0, 1, -1, 2, -2]}


# The rank of ScatterND's indices: its last dim is the index depth and the dims before it
# lay the index tuples out, as one tuple (rank 1), a list (rank 2) or a grid (rank 3), which
# a converter that reads the depth as dim 1 gets wrong.
SCATTER_ND_INDEX_RANKS = (2, 1, 3)


def _index_layout(pick: Picker, cells: int) -> tuple[int, ...]:
    """The dims before the depth of ScatterND's indices, holding at most ``cells`` tuples."""
    index_rank = pick.draw(st.sampled_from(SCATTER_ND_INDEX_RANKS))
    if index_rank == 1:
        return ()
    if index_rank == 3:
        rows = pick.draw(st.integers(1, min(cells, 2)))
        return rows, pick.draw(st.integers(1, min(cells // rows, 3)))
    return (pick.draw(st.integers(1, min(cells, 4))),)


def _draw_scatter_nd(pick: Picker):
    """Index tuples into the first k dims; distinct tuples without a reduction (where
    several updates of one element would race), repeats allowed with one."""
    opset = pick(OPSET)
    reduction = _reduction(pick, opset)
    dtype = _scatter_dtype(pick, "ScatterND", reduction, opset)
    rank, shape = _data(pick)
    depth = pick.draw(st.integers(1, rank))
    cells = list(np.ndindex(*shape[:depth]))
    layout = _index_layout(pick, len(cells))
    count = math.prod(layout)
    if reduction == "none":
        chosen = pick.draw(st.lists(st.sampled_from(range(len(cells))), min_size=count,
                                    max_size=count, unique=True))
    else:
        chosen = [pick.draw(st.sampled_from(range(len(cells)))) for _ in range(count)]
    indices = np.asarray([cells[c] for c in chosen], dtype=np.int64).reshape(*layout, depth)
    attrs: dict[str, Any] = {OPSET: opset}
    if reduction != "none" or (opset >= 16 and written(pick)):
        attrs["reduction"] = reduction
    attrs[OPERANDS] = ["in", const(indices.tolist()), "in"]
    return attrs, [shape, (*layout, *shape[depth:])], dtype


kind("ScatterND", FAMILY, _draw_scatter_nd,
     {k: v for k, v in SCATTER_DOMAINS.items() if k != "axis"},
     free_batch=False)  # a constant index input pins the batch (measured)


def _draw_scatter_elements(pick: Picker):
    """Per line along the axis, distinct targets without a reduction (negative ones too),
    any targets with one."""
    opset = pick(OPSET)
    reduction = _reduction(pick, opset)
    dtype = _scatter_dtype(pick, "ScatterElements", reduction, opset)
    rank, shape = _data(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    axis = _axis(pick, rank, attrs) % rank
    length = shape[axis]
    indices_shape = [pick.draw(st.integers(1, d)) for d in shape]
    indices = np.zeros(indices_shape, dtype=np.int64)
    for line in np.ndindex(*(d for i, d in enumerate(indices_shape) if i != axis)):
        if reduction == "none":
            targets = pick.draw(st.permutations(list(range(length))))[:indices_shape[axis]]
        else:
            targets = [pick.draw(st.integers(0, length - 1))
                       for _ in range(indices_shape[axis])]
        for j, target in enumerate(targets):
            at = (*line[:axis], j, *line[axis:])
            indices[at] = target - length if pick.draw(st.booleans()) else target
    if reduction != "none" or (opset >= 16 and written(pick)):
        attrs["reduction"] = reduction
    attrs[OPERANDS] = ["in", const(indices.tolist()), "in"]
    return attrs, [shape, tuple(indices_shape)], dtype


kind("ScatterElements", FAMILY, _draw_scatter_elements, SCATTER_DOMAINS,
     free_batch=False)  # a constant index input pins the batch (measured)


# -- Slice ------------------------------------------------------------------------------------

def _draw_slice(pick: Picker):
    """starts/ends/axes/steps as initializers (int64 or int32): some axes (any order,
    negative ones too) or every axis (axes left out), steps of either sign or left out,
    starts and ends out of range too, down to the integer extremes exporters write for an
    open end."""
    opset, dtype = opset_and_dtype(pick, "Slice", ANY_DTYPE)
    rank, shape = _data(pick)
    index_dtype = pick("form")
    big, small = (INT64_MAX, INT64_MIN) if index_dtype == "int64" else (INT32_MAX, INT32_MIN)
    operand_form = pick("operand_form")
    if operand_form == "all_axes":
        axes = list(range(rank))
    else:
        axes = pick.draw(st.lists(st.integers(0, rank - 1), min_size=1, unique=True))
    steps_given = pick.draw(st.booleans()) or operand_form == "axes_steps"
    starts, ends, steps = [], [], []
    for axis in axes:
        d = shape[axis]
        step = pick.draw(st.sampled_from([1, -1, 2, -2, 3])) if steps_given else 1
        if step > 0:
            start = pick.draw(st.sampled_from([0, 1, -1, d, -d - 1, small]))
            end = pick.draw(st.sampled_from([big, d, -1, 1, 2 * d, -d]))
        else:
            start = pick.draw(st.sampled_from([big, -1, d - 1, 0, 2 * d]))
            end = pick.draw(st.sampled_from([small, -d - 1, 0, -1, 1]))
        starts.append(start)
        ends.append(end)
        steps.append(step)
    attrs: dict[str, Any] = {OPSET: opset}
    operands: list[Any] = ["in", const(starts, index_dtype), const(ends, index_dtype)]
    if operand_form != "all_axes":
        written_axes = [a - rank if pick.draw(st.booleans()) else a for a in axes]
        operands.append(const(written_axes, index_dtype))
    elif steps_given:
        operands.append(None)  # axes left out, steps given
    if steps_given:
        operands.append(const(steps, index_dtype))
    attrs[OPERANDS] = operands
    return attrs, [shape], dtype


kind("Slice", FAMILY, _draw_slice,
     {"rank": [2, 1, 3, 4], "form": ["int64", "int32"],
      "operand_form": ["axes", "all_axes", "axes_steps"]})


# -- OneHot -----------------------------------------------------------------------------------

# (indices, depth) dtypes per values dtype that onnxruntime's CPU OneHot implements
ONE_HOT_KERNELS = {
    "float32": [("int64", "int64"), ("int64", "int32"), ("int64", "float32"),
                ("int32", "int32"), ("int32", "float32"), ("float32", "float32")],
    "float16": [("int64", "int64"), ("int64", "int32"), ("int64", "float32"),
                ("int32", "int32"), ("int32", "float32"), ("float32", "float32")],
    "int64": [("int64", "int64"), ("float32", "int64")],
    "int32": [("int64", "float32")],
}


def _draw_one_hot(pick: Picker):
    """Indices a graph input uniform in [-8, 8]: negative ones count from the end, those
    outside [-depth, depth) give a row of off values."""
    opset = pick(OPSET)
    dtype = pick.draw(st.sampled_from(list(ONE_HOT_KERNELS)))
    index_dtype, depth_dtype = pick.draw(st.sampled_from(ONE_HOT_KERNELS[dtype]))
    rank = pick("rank")
    shape = dims(pick, rank)
    attrs: dict[str, Any] = {OPSET: opset}
    axis = pick("axis", among=[a for a in pick.domain("axis") if -rank - 1 <= a <= rank])
    if axis != -1 or written(pick):
        attrs["axis"] = axis
    depth = pick.draw(st.integers(1, 10))
    off, on = pick.draw(st.sampled_from([(0, 1), (-1, 3), (2, -5)]))
    attrs[OPERANDS] = ["in", const(depth, depth_dtype), const([off, on], dtype)]
    attrs[INPUT_DTYPES] = [index_dtype]
    if index_dtype == "float32":
        attrs[VALUE_RANGE] = [[-8.0, 8.0]]
    return attrs, [shape], dtype


kind("OneHot", FAMILY, _draw_one_hot, {"rank": [1, 2, 3], "axis": [-1, 0, 1, -2, 2, -3, 3]},
     dtypes=tuple(ONE_HOT_KERNELS))


# -- Trilu, Compress, NonZero, ReverseSequence, Unique ----------------------------------------

TRILU_DTYPES = ("float32", "float16", "float64", "int64", "int32", "bool")


def _draw_trilu(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Trilu", TRILU_DTYPES)
    shape = dims(pick, pick("rank"))
    attrs: dict[str, Any] = {OPSET: opset}
    upper = pick("upper")
    if upper != 1 or written(pick):
        attrs["upper"] = upper
    k = pick.draw(st.sampled_from([None, 0, 1, -1, 2, -2, 9, -9]))
    if k is not None:
        attrs[OPERANDS] = ["in", const(k)]
    return attrs, [shape], dtype


kind("Trilu", FAMILY, _draw_trilu, {"rank": [2, 3, 4], "upper": [1, 0]})


def _draw_compress(pick: Picker):
    """condition a boolean graph input (the output's length then depends on the data) or
    a constant, at most as long as the axis (the rest is dropped); without an axis over the
    flattened input."""
    opset, dtype = opset_and_dtype(pick, "Compress", ANY_DTYPE)
    rank, shape = _data(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    axis = None
    if pick.draw(st.booleans()):  # without an axis: over the flattened input
        axis = attrs["axis"] = pick("axis", among=[a for a in pick.domain("axis")
                                                   if -rank <= a < rank])
    length = pick.draw(st.integers(1, shape[axis] if axis is not None else math.prod(shape)))
    if pick("operand_form") == "input":
        attrs[INPUT_DTYPES] = [None, "bool"]
        return attrs, [shape, (length,)], dtype
    attrs[OPERANDS] = ["in", const([pick.draw(st.booleans()) for _ in range(length)], "bool")]
    return attrs, [shape], dtype


kind("Compress", FAMILY, _draw_compress,
     {"rank": [2, 1, 3], "axis": [0, 1, -1, 2, -2], "operand_form": ["input", "const"]},
     free_batch=False)  # no drawn case can have a free batch (measured)


# onnxruntime's CPU NonZero: float, float16, int32, int64, uint8, bool (no double, int8)
NONZERO_DTYPES = ("float32", "float16", "int64", "int32", "uint8", "bool")


def _draw_nonzero(pick: Picker):
    """Integer and boolean inputs hold zeros (the seeded data is uniform in [-8, 8]), float
    ones only where an override writes one."""
    opset, dtype = opset_and_dtype(pick, "NonZero", NONZERO_DTYPES)
    return {OPSET: opset}, [dims(pick, pick("rank"))], dtype


kind("NonZero", FAMILY, _draw_nonzero, {"rank": [1, 2, 3]}, dtypes=NONZERO_DTYPES,
     free_batch=False)  # no drawn case can have a free batch (measured)


def _draw_reverse_sequence(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "ReverseSequence", ANY_DTYPE)
    rank, shape = _data(pick, low_rank=2)
    time_axis = pick("time_axis")
    attrs: dict[str, Any] = {OPSET: opset}
    if time_axis != 0 or written(pick):
        attrs["time_axis"], attrs["batch_axis"] = time_axis, 1 - time_axis
    steps, batch = shape[time_axis], shape[1 - time_axis]
    lengths = [pick.draw(st.integers(1, steps)) for _ in range(batch)]
    attrs[OPERANDS] = ["in", const(lengths)]
    return attrs, [shape], dtype


kind("ReverseSequence", FAMILY, _draw_reverse_sequence,
     {"rank": [2, 3, 4], "time_axis": [0, 1], "batch_axis": [1, 0]},
     free_batch=False)  # no drawn case can have a free batch (measured)


# onnxruntime's CPU Unique: float, double, int64, int8 (and string)
UNIQUE_DTYPES = ("float32", "float64", "int64", "int8")


def _draw_unique(pick: Picker):
    """Integer inputs repeat values (uniform in [-8, 8]); outputs Y, then indices,
    inverse_indices and counts."""
    opset, dtype = opset_and_dtype(pick, "Unique", UNIQUE_DTYPES)
    rank, shape = _data(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    if pick.draw(st.booleans()):  # without an axis: over the flattened input
        attrs["axis"] = pick("axis", among=[a for a in pick.domain("axis") if -rank <= a < rank])
    sort = pick("sorted")
    if sort != 1 or written(pick):
        attrs["sorted"] = sort
    attrs[OUTPUTS] = pick("outputs")
    return attrs, [shape], dtype


kind("Unique", FAMILY, _draw_unique,
     {"rank": [1, 2, 3], "axis": [0, 1, -1], "sorted": [1, 0], "outputs": [1, 2, 3, 4]},
     dtypes=UNIQUE_DTYPES, free_batch=False)  # no drawn case can have a free batch (measured)
