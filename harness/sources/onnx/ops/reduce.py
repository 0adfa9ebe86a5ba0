"""Reductions and ops along one axis: Reduce*, ArgMax/ArgMin, TopK, CumSum, Softmax,
LogSoftmax, Hardmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import INT_INPUTS, OPERANDS, OUTPUTS, VALUE_RANGE
from harness.sources.onnx.op import FLOATS, OPSET, schema, shape
from harness.sources.onnx.ops.math import (
    ALL_NUMERIC,
    FLOAT32_16,
    kind,
    pick_dtype,
)

FAMILY = "reduce"
# Float inputs drawn from {0, 1, 2} so that arg- and top-k ops meet ties.
TIE_BOUND = 3

# Axis values, the schema default first, then the others by rank.
AXES_LAST_FIRST = [-1, 0, 1, 2, 3, -2, -3, -4]
AXES_FIRST_FIRST = [0, -1, 1, 2, 3, -2, -3, -4]


def valid_axes(pick: Picker, name: str, rank: int) -> list[int]:
    return [a for a in pick.domain(name) if -rank <= a < rank]


def drawn_axes(pick: Picker, rank: int) -> list[int]:
    """A non-empty set of distinct axes, some written negative; shrinks to [0]."""
    axes = pick.draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    return [a - rank if pick.draw(st.booleans()) else a for a in axes]


def axes_are_input(op_type: str, opset: int) -> bool:
    """From opset 18 (13 for ReduceSum) ``axes`` is an optional input, no attribute."""
    return "axes" not in schema(op_type, opset).attributes


# -- Reduce* -----------------------------------------------------------------------------------

AXES_FORMS = ["listed", "omitted", "empty"]  # "empty": an empty axes input (opset 18+)


def reduction(op_type: str, dtypes: Sequence[str], value_range: Any = None,
              int_bound: int | None = None, max_rank: int = 4, high: int = 4):
    """A Reduce* op: keepdims, axes (attribute or input by opset; listed, omitted or empty)
    and noop_with_empty_axes where axes is an input."""

    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        input_shape = shape(pick, max_rank=max_rank, high=high)
        attrs: dict[str, Any] = {OPSET: opset, "keepdims": pick("keepdims")}
        as_input = axes_are_input(op_type, opset)
        form = pick("axes_form", among=AXES_FORMS if as_input else AXES_FORMS[:2])
        axes = drawn_axes(pick, len(input_shape)) if form == "listed" else []
        if as_input:
            attrs["noop_with_empty_axes"] = pick("noop_with_empty_axes")
            if form != "omitted":
                attrs[OPERANDS] = ["in", {"const": axes, "dtype": "int64"}]
        elif form == "listed":
            attrs["axes"] = axes
        if np.dtype(dtype).kind == "f":
            if value_range is not None:
                attrs[VALUE_RANGE] = [value_range]
        elif int_bound is not None:
            attrs[INT_INPUTS] = [int_bound]
        return attrs, [input_shape], dtype

    return kind(op_type, FAMILY, draw, {"keepdims": [1, 0], "noop_with_empty_axes": [0, 1],
                                        "axes_form": AXES_FORMS})


INT_REDUCIBLE = (*FLOATS, "int64", "int32")
reduction("ReduceSum", INT_REDUCIBLE)
reduction("ReduceMean", INT_REDUCIBLE)
reduction("ReduceMax", ALL_NUMERIC)
reduction("ReduceMin", ALL_NUMERIC)
# Products of up to 27 factors in [0.5, 1.5] (floats) or {0, 1, 2} (integers) stay finite.
reduction("ReduceProd", INT_REDUCIBLE, value_range=[0.5, 1.5], int_bound=3, max_rank=3,
          high=3)
reduction("ReduceL1", INT_REDUCIBLE)
reduction("ReduceL2", FLOATS)
reduction("ReduceLogSum", FLOATS, value_range="positive")
reduction("ReduceLogSumExp", FLOATS)
reduction("ReduceSumSquare", INT_REDUCIBLE)


# -- ArgMax, ArgMin, TopK ----------------------------------------------------------------------

def _ties(pick: Picker, dtype: str) -> dict[str, Any]:
    """Float inputs with repeated values half of the time (integer inputs repeat anyway)."""
    if np.dtype(dtype).kind == "f" and pick.draw(st.booleans()):
        return {INT_INPUTS: [TIE_BOUND]}
    return {}


def arg_extremum(op_type: str):
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, ALL_NUMERIC)
        input_shape = shape(pick)
        attrs = {OPSET: opset,
                 "axis": pick("axis", among=valid_axes(pick, "axis", len(input_shape))),
                 "keepdims": pick("keepdims"),
                 "select_last_index": pick("select_last_index"),
                 **_ties(pick, dtype)}
        return attrs, [input_shape], dtype

    return kind(op_type, FAMILY, draw, {"axis": AXES_FIRST_FIRST, "keepdims": [1, 0],
                                        "select_last_index": [0, 1]})


arg_extremum("ArgMax")
arg_extremum("ArgMin")


# The axis a top-k selects along is drawn up to this long, as a top-k over classes is: over a
# short one, a top-k that fails to sort shows nothing (torch 2.15 on the CPU returns a top 1
# or 2 of any length, and all of 3 elements, in order whatever ``sorted`` says).
TOP_K_LENGTH = 12
TOP_K_PARTS = ["one", "between", "whole"]  # k = 1, 1 < k < the axis' length, k = its length


def _top_k_count(pick: Picker, length: int, sorted_: int) -> int:
    # Unsorted results come in an unspecified order, and which of equal elements an
    # unsorted top-k keeps is unspecified too: sorted=0 draws k = 1 over float inputs
    # without ties. Sorted results break ties by the lower index (the ONNX spec).
    if not sorted_:
        return 1
    part = pick.draw(st.sampled_from(TOP_K_PARTS))
    if part == "whole":
        return length
    if part == "between" and length > 2:
        return pick.draw(st.integers(2, length - 1))
    return 1


def _draw_top_k(pick: Picker):
    opset = pick(OPSET)
    sorted_ = pick("sorted")
    dtype = pick_dtype(pick, "TopK", opset, ALL_NUMERIC if sorted_ else FLOATS)
    input_shape = list(shape(pick))
    axis = pick("axis", among=valid_axes(pick, "axis", len(input_shape)))
    input_shape[axis] = pick.draw(st.integers(1, TOP_K_LENGTH))
    k = _top_k_count(pick, input_shape[axis], sorted_)
    attrs = {OPSET: opset, "axis": axis, "largest": pick("largest"), "sorted": sorted_,
             OPERANDS: ["in", {"const": [k], "dtype": "int64"}], OUTPUTS: 2,
             **(_ties(pick, dtype) if sorted_ else {})}
    return attrs, [tuple(input_shape)], dtype


kind("TopK", FAMILY, _draw_top_k, {"axis": AXES_LAST_FIRST, "largest": [1, 0],
                                   "sorted": [1, 0]})


# -- CumSum ------------------------------------------------------------------------------------

def _draw_cum_sum(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "CumSum", opset, INT_REDUCIBLE)
    input_shape = shape(pick)
    rank = len(input_shape)
    # 0..rank-1 first, then -rank..-1 (the axis is an input, not an attribute)
    axis = pick.draw(st.integers(0, 2 * rank - 1).map(lambda a: a if a < rank else a - 2 * rank))
    axis_dtype = pick.draw(st.sampled_from(["int64", "int32"]))
    attrs = {OPSET: opset, "exclusive": pick("exclusive"), "reverse": pick("reverse"),
             OPERANDS: ["in", {"const": axis, "dtype": axis_dtype}]}
    return attrs, [input_shape], dtype


kind("CumSum", FAMILY, _draw_cum_sum, {"exclusive": [0, 1], "reverse": [0, 1]})


# -- Softmax, LogSoftmax, Hardmax --------------------------------------------------------------

def softmax_like(op_type: str, dtypes: Sequence[str]):
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        input_shape = shape(pick)
        attrs = {OPSET: opset,
                 "axis": pick("axis", among=valid_axes(pick, "axis", len(input_shape)))}
        return attrs, [input_shape], dtype

    return kind(op_type, FAMILY, draw, {"axis": AXES_LAST_FIRST}, dtypes=dtypes)


softmax_like("Softmax", FLOATS)
softmax_like("LogSoftmax", FLOATS)
softmax_like("Hardmax", FLOAT32_16)
