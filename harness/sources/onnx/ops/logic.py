"""Logic: comparisons, Where, boolean and bitwise ops, IsNaN/IsInf."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import INPUT_DTYPES, INT_INPUTS
from harness.sources.onnx.op import OPSET, shape
from harness.sources.onnx.ops.math import (
    ALL_NUMERIC,
    INTEGERS,
    OVERFLOW,
    broadcast_shapes,
    kind,
    pick_dtype,
)

FAMILY = "logic"
# Float inputs drawn from {0, 1, 2, 3} so that comparisons meet equal elements.
TIE_BOUND = 4


def comparison(op_type: str, dtypes: Sequence[str] = ALL_NUMERIC):
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        attrs: dict[str, Any] = {OPSET: opset}
        if np.dtype(dtype).kind == "f" and pick.draw(st.booleans()):
            attrs[INT_INPUTS] = [TIE_BOUND, TIE_BOUND]
        return attrs, broadcast_shapes(pick, 2), dtype

    return kind(op_type, FAMILY, draw, dtypes=dtypes)


comparison("Equal", (*ALL_NUMERIC, "bool"))
comparison("Less")
comparison("LessOrEqual")
comparison("Greater")
comparison("GreaterOrEqual")


def _draw_where(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Where", opset, ALL_NUMERIC, input_index=1)
    attrs = {OPSET: opset, INPUT_DTYPES: ["bool", None, None]}
    return attrs, broadcast_shapes(pick, 3), dtype


kind("Where", FAMILY, _draw_where)


def boolean(op_type: str, arity: int):
    def draw(pick: Picker):
        return {OPSET: pick(OPSET)}, broadcast_shapes(pick, arity), "bool"

    return kind(op_type, FAMILY, draw, dtypes=("bool",))


boolean("Not", 1)
boolean("And", 2)
boolean("Or", 2)
boolean("Xor", 2)


def bitwise(op_type: str, arity: int):
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, INTEGERS)
        return {OPSET: opset}, broadcast_shapes(pick, arity), dtype

    return kind(op_type, FAMILY, draw, dtypes=INTEGERS)


bitwise("BitwiseAnd", 2)
bitwise("BitwiseOr", 2)
bitwise("BitwiseXor", 2)
bitwise("BitwiseNot", 1)

SHIFT_BOUND = 8  # shift amounts in [0, 8): inside the width of uint8


def _draw_bit_shift(pick: Picker):
    # uint8 only: the wider unsigned types have no default tolerance (see the report)
    attrs = {OPSET: pick(OPSET), "direction": pick("direction"),
             INT_INPUTS: [None, SHIFT_BOUND]}
    return attrs, broadcast_shapes(pick, 2), "uint8"


kind("BitShift", FAMILY, _draw_bit_shift, {"direction": ["LEFT", "RIGHT"]}, dtypes=("uint8",))


# A spec holds finite floats only, so NaN cannot be drawn as an input; ±1e300 becomes ±inf
# in a float32/float16 input (float64 inputs stay finite).
SPECIALS = (OVERFLOW, -OVERFLOW)


def _draw_is_nan(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "IsNaN", opset, ("float32", "float16", "float64"))
    return {OPSET: opset}, [shape(pick)], dtype


kind("IsNaN", FAMILY, _draw_is_nan, specials=SPECIALS)


def _draw_is_inf(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "IsInf", opset, ("float32", "float64"))
    attrs = {OPSET: opset, "detect_negative": pick("detect_negative"),
             "detect_positive": pick("detect_positive")}
    return attrs, [shape(pick)], dtype


kind("IsInf", FAMILY, _draw_is_inf, {"detect_negative": [1, 0], "detect_positive": [1, 0]},
     specials=SPECIALS, dtypes=("float32", "float64"))
