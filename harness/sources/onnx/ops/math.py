"""Elementwise math: arithmetic (broadcasting, variadic), unary functions, Clip, Cast,
CastLike, Identity.

Every kind here (and in the logic, reduce and matmul families) draws its input overrides
with ``typed_overrides``: per graph input in that input's own dtype, so that integer and
boolean cases draw integer overrides (the default strategy draws floats of the case dtype,
which Hypothesis cannot represent in an integer array).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core import strategies
from harness.core.registry import LayerKind, Picker
from harness.sources.onnx.build import (
    INPUT_DTYPES,
    INT_INPUTS,
    OPERANDS,
    VALUE_RANGE,
    tensor_type,
)
from harness.sources.onnx.op import (
    FLOATS,
    OPSET,
    SOURCE,
    allowed_dtypes,
    op_kind,
    pick_attributes,
    shape,
)

FAMILY = "math"

# Integer cases as onnxruntime's CPU kernels take them: int16 has few kernels, and the
# wide unsigned types have few kernels and no default tolerance (harness.core.tolerance).
SIGNED = ("int64", "int32", "int8")
INTEGERS = (*SIGNED, "uint8")
ALL_NUMERIC = (*FLOATS, *INTEGERS)
FLOAT32_16 = ("float32", "float16")  # kernels onnxruntime's CPU has no float64 for
# Integer overrides stay inside the range make_inputs draws integers from.
INT_OVERRIDE_BOUND = 8
# Overrides that become ±inf once cast to float32/float16: a spec holds finite floats only.
OVERFLOW = 1e300


@st.composite
def typed_overrides(draw, attrs: dict[str, Any], shapes, dtype: str,
                    specials: Sequence[float] = ()):
    """Sparse overrides per graph input in that input's dtype: valid indices for index
    inputs, small integers for integer and boolean inputs, floats otherwise (some of them
    ``specials`` where given)."""
    dtypes = list(attrs.get(INPUT_DTYPES) or [])
    bounds = list(attrs.get(INT_INPUTS) or [])
    drawn = []
    for i, input_shape in enumerate(shapes):
        input_dtype = np.dtype((dtypes[i] if i < len(dtypes) else None) or dtype)
        bound = bounds[i] if i < len(bounds) else None
        if bound is not None:
            drawn.append(draw(strategies.int_overrides(input_shape, int(bound))))
        elif input_dtype.kind in "iub":
            low = -INT_OVERRIDE_BOUND if input_dtype.kind == "i" else 0
            high = 1 if input_dtype.kind == "b" else INT_OVERRIDE_BOUND
            drawn.append(draw(_integer_overrides(input_shape, low, high)))
        elif specials:
            drawn.append(draw(_special_overrides(input_shape, specials)))
        else:
            drawn.append(draw(strategies.input_overrides(input_shape, input_dtype.name)))
    return tuple(drawn)


@st.composite
def _integer_overrides(draw, input_shape, low: int, high: int):
    return draw(_sparse(input_shape, st.integers(low, high).map(float)))


@st.composite
def _special_overrides(draw, input_shape, specials: Sequence[float]):
    values = st.one_of(st.sampled_from(list(specials)),
                       st.floats(-strategies.OVERRIDE_BOUND, strategies.OVERRIDE_BOUND,
                                 width=32, allow_nan=False, allow_subnormal=False))
    return draw(_sparse(input_shape, values))


@st.composite
def _sparse(draw, input_shape, values):
    size = int(np.prod(input_shape))
    count = draw(st.integers(0, min(strategies.MAX_OVERRIDES, size)))
    where = draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count,
                          unique=True))
    return tuple((index, draw(values)) for index in where)


def with_typed_inputs(kind: LayerKind, specials: Sequence[float] = ()) -> LayerKind:
    """Registers ``typed_overrides`` as the kind's input strategy."""
    strategies.register_inputs(
        kind.name, lambda attrs, shapes, dtype: typed_overrides(attrs, shapes, dtype, specials),
        source=SOURCE)
    return kind


def kind(op_type: str, family: str, draw, domains: dict[str, Sequence[Any]] | None = None,
         *, name: str | None = None, specials: Sequence[float] = (),
         dtypes: Sequence[str] | None = None) -> LayerKind:
    """``op_kind`` with typed input overrides."""
    return with_typed_inputs(op_kind(op_type, family, draw, domains, name=name, dtypes=dtypes),
                             specials)


def pick_dtype(pick: Picker, op_type: str, opset: int, among: Sequence[str],
               input_index: int = 0) -> str:
    """A dtype the op's type constraint admits, among ``among`` (float32 first)."""
    dtypes = allowed_dtypes(op_type, opset, input_index, among)
    if not dtypes:
        raise ValueError(f"{op_type} at opset {opset} admits none of {list(among)}")
    return pick.dtype(dtypes)


def broadcast_shapes(pick: Picker, count: int, max_rank: int = 4) -> list[tuple[int, ...]]:
    """``count`` shapes that broadcast together (numpy rules): each the full shape, the full
    shape with some axes at 1, or a suffix of it (a scalar at the shortest); each shrinks to
    the full shape."""
    full = shape(pick, max_rank=max_rank)
    shapes = []
    for _ in range(count):
        form = pick.draw(st.sampled_from(["same", "ones", "suffix"]))
        if form == "same":
            shapes.append(full)
        elif form == "ones":
            shapes.append(tuple(1 if pick.draw(st.booleans()) else d for d in full))
        else:
            keep = pick.draw(st.integers(0, len(full)))
            shapes.append(full[len(full) - keep:])
    return shapes


# -- unary ---------------------------------------------------------------------------------

def unary(op_type: str, dtypes: Sequence[str] = FLOATS, value_range: Any = None,
          family: str = FAMILY) -> LayerKind:
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        attrs: dict[str, Any] = {OPSET: opset}
        if value_range is not None and np.dtype(dtype).kind == "f":
            attrs[VALUE_RANGE] = [value_range]
        return attrs, [shape(pick)], dtype

    return kind(op_type, family, draw, dtypes=dtypes)


unary("Abs", ALL_NUMERIC)
unary("Neg", (*FLOATS, *SIGNED))
unary("Exp")
unary("Log", value_range="positive")
unary("Sqrt", value_range="positive")
unary("Reciprocal", value_range="nonzero")
unary("Floor")
unary("Ceil")
unary("Round")
unary("Sign", ALL_NUMERIC)
unary("Erf", FLOAT32_16)
unary("Sin")
unary("Cos")
# tan has poles at ±pi/2
unary("Tan", FLOAT32_16, value_range=[-1.4, 1.4])
unary("Asin", FLOAT32_16, value_range="unit")
unary("Acos", FLOAT32_16, value_range="unit")
unary("Atan", FLOAT32_16)
unary("Sinh", FLOAT32_16)
unary("Cosh", FLOAT32_16)
unary("Asinh", FLOAT32_16)
unary("Acosh", FLOAT32_16, value_range=[1.0, 5.0])
unary("Atanh", FLOAT32_16, value_range="unit")


# -- binary and variadic ----------------------------------------------------------------------

def binary(op_type: str, dtypes: Sequence[str] = ALL_NUMERIC,
           domains: dict[str, Sequence[Any]] | None = None,
           value_range: Sequence[Any] | None = None) -> LayerKind:
    """Two broadcasting inputs of one dtype; ``value_range`` applies to float inputs."""
    domains = dict(domains or {})

    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        attrs = {OPSET: opset, **pick_attributes(pick, list(domains))}
        if value_range is not None:
            attrs[VALUE_RANGE] = list(value_range)
        return attrs, broadcast_shapes(pick, 2), dtype

    return kind(op_type, FAMILY, draw, domains, dtypes=dtypes)


binary("Add")
binary("Sub")
binary("Mul")
# Integer Div truncates towards zero; a zero divisor is undefined for integers.
binary("Div", value_range=[None, "nonzero"])


def _draw_mod(pick: Picker):
    opset = pick(OPSET)
    fmod = pick("fmod")
    # fmod=0 (Python's sign-of-divisor remainder) is for integers only: ONNX requires
    # fmod=1 for floating-point inputs.
    dtype = pick_dtype(pick, "Mod", opset, INTEGERS if fmod == 0 else ALL_NUMERIC)
    attrs = {OPSET: opset, "fmod": fmod, VALUE_RANGE: [None, "nonzero"]}
    return attrs, broadcast_shapes(pick, 2), dtype


kind("Mod", FAMILY, _draw_mod, {"fmod": [0, 1]})

POW_DTYPES = (*FLOATS, "int64", "int32")
POW_EXPONENT_BOUND = 4  # integer-valued exponents in [0, 4): no overflow, no fractions


def _draw_pow(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Pow", opset, POW_DTYPES)
    exponent_dtypes = [dtype, *(d for d in allowed_dtypes("Pow", opset, 1, POW_DTYPES)
                                if d != dtype)]
    exponent = pick.draw(st.sampled_from(exponent_dtypes))
    attrs: dict[str, Any] = {OPSET: opset}
    if exponent != dtype:
        attrs[INPUT_DTYPES] = [None, exponent]
    if np.dtype(dtype).kind == "f" and np.dtype(exponent).kind == "f":
        # a real power of a positive base
        attrs[VALUE_RANGE] = ["positive", [-3.0, 3.0]]
    else:
        # integer powers of any base
        attrs[INT_INPUTS] = [None, POW_EXPONENT_BOUND]
    return attrs, broadcast_shapes(pick, 2), dtype


kind("Pow", FAMILY, _draw_pow)


def variadic(op_type: str, dtypes: Sequence[str]) -> LayerKind:
    """1 to 3 inputs broadcasting together."""
    def draw(pick: Picker):
        opset = pick(OPSET)
        dtype = pick_dtype(pick, op_type, opset, dtypes)
        count = pick.draw(st.integers(1, 3))
        return {OPSET: opset}, broadcast_shapes(pick, count), dtype

    return kind(op_type, FAMILY, draw, dtypes=dtypes)


variadic("Min", ALL_NUMERIC)
variadic("Max", ALL_NUMERIC)
variadic("Sum", FLOATS)
variadic("Mean", FLOAT32_16)


# -- Clip --------------------------------------------------------------------------------------

CLIP_MINS = [-1.0, 0.0, -0.5, 2.0]
CLIP_MAXS = [1.0, 6.0, 0.5, -2.0]  # max below min: every element becomes max


def _draw_clip(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Clip", opset, ALL_NUMERIC)
    integer = np.dtype(dtype).kind in "iu"
    operands: list[Any] = ["in"]
    for bounds in (CLIP_MINS, CLIP_MAXS):
        if pick.draw(st.booleans()):
            value = pick.draw(st.sampled_from(bounds))
            if integer:
                value = int(value * 3) if np.dtype(dtype).kind == "i" else abs(int(value * 3))
            operands.append({"const": value, "dtype": dtype})
        else:
            operands.append(None)
    while operands[-1] is None:  # trailing omitted inputs are left out, as exporters do
        operands.pop()
    return {OPSET: opset, OPERANDS: operands}, [shape(pick)], dtype


kind("Clip", FAMILY, _draw_clip)


# -- Cast, CastLike, Identity ------------------------------------------------------------------

CAST_DTYPES = ("float32", "float16", "float64", "int64", "int32", "int16", "int8", "uint8",
               "bool")


def _tensor_type(dtype: str) -> int:
    return tensor_type(dtype)


CAST_TO = [_tensor_type(d) for d in CAST_DTYPES]  # ONNX TensorProto enums, float first
# Only float8 targets saturate, and onnxruntime refuses saturate=0 for any other target
# (microsoft/onnxruntime#14731, by design); the harness draws no float8, so saturate is
# written explicitly at its default, which a converter must accept.
SATURATE = [1, 0]


def _cast_range(source: str, target: str) -> Any:
    # float -> unsigned is undefined below 0; float -> integer is defined inside the range
    if np.dtype(source).kind == "f" and np.dtype(target).kind == "u":
        return "positive"
    return None


def _saturated(pick: Picker, attrs: dict[str, Any], opset: int, source: str,
               target: str) -> dict[str, Any]:
    """A cast's attributes with its saturate (opset 19 on) and the range its values are drawn
    in, where the target type cannot hold every source value."""
    if opset >= 19:
        attrs["saturate"] = pick("saturate", among=SATURATE[:1])
    value_range = _cast_range(source, target)
    if value_range is not None:
        attrs[VALUE_RANGE] = [value_range]
    return attrs


def _draw_cast(pick: Picker):
    opset = pick(OPSET)
    source = pick.dtype(CAST_DTYPES)  # a dtype axis forces it (Picker.dtype)
    to = pick("to")
    target = CAST_DTYPES[CAST_TO.index(to)]
    attrs: dict[str, Any] = {OPSET: opset, "to": to}
    return _saturated(pick, attrs, opset, source, target), [shape(pick)], source


kind("Cast", FAMILY, _draw_cast, {"to": CAST_TO, "saturate": SATURATE})


def _draw_cast_like(pick: Picker):
    opset = pick(OPSET)
    source = pick.dtype(CAST_DTYPES)
    target = pick.draw(st.sampled_from(CAST_DTYPES))
    attrs: dict[str, Any] = {OPSET: opset,
                             OPERANDS: ["in", {"const": 0, "dtype": target}]}
    return _saturated(pick, attrs, opset, source, target), [shape(pick)], source


kind("CastLike", FAMILY, _draw_cast_like, {"saturate": SATURATE})


def _draw_identity(pick: Picker):
    opset = pick(OPSET)
    dtype = pick.dtype(CAST_DTYPES)
    return {OPSET: opset}, [shape(pick)], dtype


kind("Identity", FAMILY, _draw_identity)
