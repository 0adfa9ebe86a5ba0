"""Tensor manipulation: Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Split, Tile,
Expand, Pad, CenterCropPad, DepthToSpace, SpaceToDepth (family ``reshaping``); and the
shape ops Shape, Size, ConstantOfShape, Range, EyeLike (family ``shape``).

Shape-like operands (shape, axes, pads, repeats, split) are int64 initializers, as
exporters write them.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import INPUT_DTYPES, INT_INPUTS, OPERANDS, OPSET, OUTPUTS
from harness.sources.onnx.op import opset_and_dtype, schema
from harness.sources.onnx.ops.conv import kind, written

FAMILY = "reshaping"
SHAPE_FAMILY = "shape"

# Every dtype the harness draws inputs of; each op keeps those its type constraint admits.
ANY_DTYPE = ("float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool")


def dims(pick: Picker, rank: int, low: int = 1, high: int = 4) -> tuple[int, ...]:
    return tuple(pick.draw(st.integers(low, high)) for _ in range(rank))


def const(values: Any, dtype: str = "int64") -> dict[str, Any]:
    return {"const": values, "dtype": dtype}


def _rank_and_shape(pick: Picker, low: int = 1, high: int = 4) -> tuple[int, tuple[int, ...]]:
    rank = pick("rank")
    return rank, dims(pick, rank, low, high)


# -- Flatten ----------------------------------------------------------------------------------

def _draw_flatten(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Flatten", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    axis = pick("axis", among=[a for a in pick.domain("axis") if -rank <= a <= rank])
    attrs: dict[str, Any] = {OPSET: opset}
    if axis != 1 or written(pick):
        attrs["axis"] = axis
    return attrs, [shape], dtype


kind("Flatten", FAMILY, _draw_flatten,
     {"rank": [2, 1, 3, 4], "axis": [1, 0, -1, 2, -2, 3, -3, 4, -4]})


# -- Reshape ----------------------------------------------------------------------------------

def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _draw_reshape(pick: Picker):
    """A target shape of the same size, with some dims written 0 (copy the input's) and
    one -1 (inferred), as exporters write them; allowzero (opset 14) drawn where no 0 is
    written (with allowzero=1 a 0 would be an empty dimension)."""
    opset, dtype = opset_and_dtype(pick, "Reshape", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    remaining, target = math.prod(shape), []
    for _ in range(pick("size") - 1):
        target.append(pick.draw(st.sampled_from(_divisors(remaining))))
        remaining //= target[-1]
    target.append(remaining)
    form = pick("form")
    written_shape = list(target)
    if form in ("zero", "zero_and_infer"):
        copied = [i for i in range(min(rank, len(target))) if target[i] == shape[i]]
        if copied:
            for i in pick.draw(st.lists(st.sampled_from(copied), min_size=1, unique=True)):
                written_shape[i] = 0
    if form in ("infer", "zero_and_infer"):
        inferable = [i for i, d in enumerate(written_shape) if d != 0]
        if inferable:
            written_shape[pick.draw(st.sampled_from(inferable))] = -1
    attrs: dict[str, Any] = {OPSET: opset}
    if opset >= 14:
        allowzero = pick("allowzero", among=[0] if 0 in written_shape else None)
        if allowzero or written(pick):
            attrs["allowzero"] = allowzero
    attrs[OPERANDS] = ["in", const(written_shape)]
    return attrs, [shape], dtype


kind("Reshape", FAMILY, _draw_reshape,
     {"rank": [2, 1, 3, 4], "size": [1, 2, 3, 4], "allowzero": [0, 1],
      "form": ["plain", "infer", "zero", "zero_and_infer"]})


# -- Transpose --------------------------------------------------------------------------------

def _draw_transpose(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Transpose", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    if pick("form") == "perm":  # left out: the axes reversed
        attrs["perm"] = pick.draw(st.permutations(list(range(rank))))
    return attrs, [shape], dtype


kind("Transpose", FAMILY, _draw_transpose,
     {"rank": [2, 1, 3, 4, 5], "form": ["perm", "reversed"], "perm": [0, 1, 2, 3, 4]})


# -- Squeeze, Unsqueeze -----------------------------------------------------------------------

def _draw_squeeze(pick: Picker):
    """Some dims of 1, squeezed by axes (an input from opset 13; negative ones too) or all
    of them when axes is left out."""
    opset, dtype = opset_and_dtype(pick, "Squeeze", ANY_DTYPE)
    rank = pick("rank")
    shape = tuple(1 if pick.draw(st.booleans()) else pick.draw(st.integers(2, 4))
                  for _ in range(rank))
    ones = [i for i, d in enumerate(shape) if d == 1]
    attrs: dict[str, Any] = {OPSET: opset}
    if ones and pick("form") == "axes":
        axes = pick.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
        axes = [a - rank if pick.draw(st.booleans()) else a for a in axes]
        attrs[OPERANDS] = ["in", const(axes)]
    return attrs, [shape], dtype


kind("Squeeze", FAMILY, _draw_squeeze, {"rank": [2, 1, 3, 4], "form": ["axes", "all"]})


def _draw_unsqueeze(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Unsqueeze", ANY_DTYPE)
    rank = pick("rank")
    shape = dims(pick, rank)
    added = pick.draw(st.integers(1, 2))
    out_rank = rank + added
    axes = pick.draw(st.lists(st.integers(0, out_rank - 1), min_size=added, max_size=added,
                              unique=True))
    axes = [a - out_rank if pick.draw(st.booleans()) else a for a in axes]
    return {OPSET: opset, OPERANDS: ["in", const(axes)]}, [shape], dtype


# Rank 0 inputs wait for make_inputs to feed 0-d arrays (np.ascontiguousarray makes them 1-d).
kind("Unsqueeze", FAMILY, _draw_unsqueeze, {"rank": [1, 2, 3, 4]})


# -- Concat, Split ----------------------------------------------------------------------------

def _draw_concat(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Concat", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    axis = pick("axis", among=[a for a in pick.domain("axis") if -rank <= a < rank])
    shapes = []
    for _ in range(pick("inputs")):
        along = list(shape)
        along[axis] = pick.draw(st.integers(1, 3))
        shapes.append(tuple(along))
    return {OPSET: opset, "axis": axis}, shapes, dtype


kind("Concat", FAMILY, _draw_concat,
     {"rank": [2, 1, 3, 4], "axis": [1, 0, -1, 2, -2, 3, -3, -4], "inputs": [2, 1, 3]})


def _draw_split(pick: Picker):
    """Sizes given (the split input), or equal parts: by the output count before opset 18,
    by num_outputs from 18 (the last part smaller when the axis does not divide)."""
    opset, dtype = opset_and_dtype(pick, "Split", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick, 1, 6)
    axis = pick("axis", among=[a for a in pick.domain("axis") if -rank <= a < rank])
    length = shape[axis]
    attrs: dict[str, Any] = {OPSET: opset}
    if axis != 0 or written(pick):
        attrs["axis"] = axis
    # from opset 18 equal parts need num_outputs
    form = pick("form", among=["split", "num_outputs" if opset >= 18 else "equal"])
    if form == "split":
        sizes = []
        while sum(sizes) < length:
            sizes.append(pick.draw(st.integers(1, length - sum(sizes))))
        attrs[OPERANDS] = ["in", const(sizes)]
        outputs = len(sizes)
    elif form == "num_outputs":
        outputs = pick("num_outputs", among=[n for n in pick.domain("num_outputs")
                                             if n <= length and -(-length // n) * (n - 1)
                                             < length])
        attrs["num_outputs"] = outputs
    else:
        outputs = pick("num_outputs", among=[n for n in pick.domain("num_outputs")
                                             if length % n == 0])
    if outputs != 1:
        attrs[OUTPUTS] = outputs
    return attrs, [shape], dtype


kind("Split", FAMILY, _draw_split,
     {"rank": [2, 1, 3, 4], "axis": [0, 1, -1, 2, -2, 3], "num_outputs": [2, 1, 3, 4],
      "form": ["split", "equal", "num_outputs"]})


# -- Tile, Expand -----------------------------------------------------------------------------

def _draw_tile(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Tile", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick, 1, 3)
    repeats = [pick.draw(st.sampled_from([1, 2, 3])) for _ in range(rank)]
    return {OPSET: opset, OPERANDS: ["in", const(repeats)]}, [shape], dtype


kind("Tile", FAMILY, _draw_tile, {"rank": [2, 1, 3, 4]})


def _draw_expand(pick: Picker):
    """A shape that broadcasts with the input: dims of 1 grow, others stay or are written
    1, and leading dims may be added."""
    opset, dtype = opset_and_dtype(pick, "Expand", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick, 1, 3)
    target = [pick.draw(st.integers(1, 3)) for _ in range(pick("size"))]
    for d in shape:
        target.append(pick.draw(st.integers(1, 3)) if d == 1
                      else pick.draw(st.sampled_from([d, 1])))
    return {OPSET: opset, OPERANDS: ["in", const(target)]}, [shape], dtype


kind("Expand", FAMILY, _draw_expand, {"rank": [2, 1, 3, 4], "size": [0, 1, 2]})


# -- Pad, CenterCropPad -----------------------------------------------------------------------

PAD_MODES = ["constant", "reflect", "edge", "wrap"]
PADS = [0, 1, 2, -1]


def _draw_pad(pick: Picker):
    """pads as an int64 initializer (negative ones crop), constant_value given or left out,
    axes (opset 18) given or left out; wrap from opset 19. Reflect pads stay below the
    dim, wrap pads at most the dim, and neither crops (onnxruntime: "Pad reflect requires
    axis length >= 2 after slicing")."""
    opset, dtype = opset_and_dtype(pick, "Pad", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    mode = pick("mode", among=[m for m in PAD_MODES if m != "wrap" or opset >= 19])
    axes = list(range(rank))
    form = pick("form", among=["all_axes", "axes"] if opset >= 18 else ["all_axes"])
    if form == "axes":
        axes = pick.draw(st.lists(st.integers(0, rank - 1), min_size=1, unique=True))
        axes = [a - rank if pick.draw(st.booleans()) else a for a in axes]
    pads = [0] * (2 * len(axes))
    for i, axis in enumerate(axes):
        d = shape[axis]
        high = {"reflect": d - 1, "wrap": d}.get(mode, 2)
        low = 0 if mode in ("reflect", "wrap") else -d + 1
        begin = pick.draw(st.sampled_from([p for p in PADS if low <= p <= high]))
        end = pick.draw(st.sampled_from([p for p in PADS
                                         if low <= p <= high and begin + p > -d]))
        pads[i], pads[i + len(axes)] = begin, end
    attrs: dict[str, Any] = {OPSET: opset}
    if mode != "constant" or written(pick):
        attrs["mode"] = mode
    value = (pick.draw(st.sampled_from([None, 0.0, 1.5, -2.0])) if mode == "constant"
             else None)
    if dtype == "bool" and value is not None:
        value = bool(value)
    elif dtype[0] in "iu" and value is not None:
        value = int(value) if dtype[0] == "i" else abs(int(value))
    operands: list[Any] = ["in", const(pads)]
    if value is not None or form == "axes":
        operands.append(None if value is None else const(value, dtype))
    if form == "axes":
        operands.append(const(axes))
    attrs[OPERANDS] = operands
    return attrs, [shape], dtype


kind("Pad", FAMILY, _draw_pad,
     {"rank": [2, 1, 3, 4], "mode": PAD_MODES, "form": ["all_axes", "axes"]})


def _draw_center_crop_pad(pick: Picker):
    """A target shape per axis (crop or zero-pad around the centre), for every axis or
    for the axes attribute's."""
    opset, dtype = opset_and_dtype(pick, "CenterCropPad", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick, 1, 5)
    attrs: dict[str, Any] = {OPSET: opset}
    axes = list(range(rank))
    if pick("form") == "axes":
        axes = pick.draw(st.lists(st.integers(0, rank - 1), min_size=1, unique=True))
        attrs["axes"] = [a - rank if pick.draw(st.booleans()) else a for a in axes]
    target = [pick.draw(st.integers(1, 6)) for _ in axes]
    attrs[OPERANDS] = ["in", const(target)]
    return attrs, [shape], dtype


kind("CenterCropPad", FAMILY, _draw_center_crop_pad,
     {"rank": [2, 1, 3, 4], "form": ["all_axes", "axes"],
      "axes": [0, 1, 2, 3, -1, -2, -3, -4]})


# -- DepthToSpace, SpaceToDepth ---------------------------------------------------------------

# onnxruntime's CPU kernels: float, double, float16, int8 and uint8 (no int32/int64/bool)
SPACE_DTYPES = ("float32", "float16", "float64", "int8", "uint8")


def _draw_depth_to_space(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "DepthToSpace", SPACE_DTYPES)
    block = pick("blocksize")
    mode = pick("mode")
    attrs: dict[str, Any] = {OPSET: opset, "blocksize": block}
    if mode != "DCR" or written(pick):
        attrs["mode"] = mode
    shape = (pick.draw(st.integers(1, 2)), pick.draw(st.integers(1, 3)) * block * block,
             *dims(pick, 2, 1, 3))
    return attrs, [shape], dtype


kind("DepthToSpace", FAMILY, _draw_depth_to_space,
     {"blocksize": [2, 1, 3], "mode": ["DCR", "CRD"]})


def _draw_space_to_depth(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "SpaceToDepth", SPACE_DTYPES)
    block = pick("blocksize")
    shape = (pick.draw(st.integers(1, 2)), pick.draw(st.integers(1, 3)),
             *(block * d for d in dims(pick, 2, 1, 3)))
    return {OPSET: opset, "blocksize": block}, [shape], dtype


kind("SpaceToDepth", FAMILY, _draw_space_to_depth, {"blocksize": [2, 1, 3]})


# -- Shape, Size ------------------------------------------------------------------------------

def _draw_shape(pick: Picker):
    """start and end (opset 15), negative and out of range too (they clamp)."""
    opset, dtype = opset_and_dtype(pick, "Shape", ANY_DTYPE)
    rank, shape = _rank_and_shape(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    if opset >= 15:
        start = pick("start")
        if start != 0 or written(pick):
            attrs["start"] = start
        if pick.draw(st.booleans()):  # end left out: to the last dim
            attrs["end"] = pick("end")
    return attrs, [shape], dtype


kind("Shape", SHAPE_FAMILY, _draw_shape,
     {"rank": [2, 1, 3, 4], "start": [0, 1, -1, 2, -2, -9, 9],
      "end": [-1, 1, 2, -2, 9, -9]},
     free_batch=False)  # no drawn case can have a free batch (measured)


def _draw_size(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Size", ANY_DTYPE)
    _, shape = _rank_and_shape(pick)
    return {OPSET: opset}, [shape], dtype


kind("Size", SHAPE_FAMILY, _draw_size, {"rank": [2, 1, 3, 4]},
     free_batch=False)  # no drawn case can have a free batch (measured)


# -- ConstantOfShape, Range, EyeLike ----------------------------------------------------------

def _draw_constant_of_shape(pick: Picker):
    """The shape a graph input (an int64 vector, entries in [0, 4): empty outputs too), the
    value a one-element tensor of the case dtype, or left out (float zeros)."""
    opset = pick(OPSET)
    value = pick.draw(st.sampled_from([None, 0.0, 1.0, -2.5, 3.0]))
    among = ANY_DTYPE if value is not None else ("float32",)
    dtype = pick.dtype([d for d in among if _value_dtype_ok(d, opset)])
    attrs: dict[str, Any] = {OPSET: opset, INPUT_DTYPES: ["int64"], INT_INPUTS: [4]}
    if value is not None:
        attrs["value"] = {"tensor": [_typed(value, dtype)], "dtype": dtype}
    return attrs, [(pick("rank"),)], dtype


def _value_dtype_ok(dtype: str, opset: int) -> bool:
    constraint = {c.type_param_str: c.allowed_type_strs
                  for c in schema("ConstantOfShape", opset).type_constraints}
    names = {"float32": "tensor(float)", "float16": "tensor(float16)",
             "float64": "tensor(double)", "int64": "tensor(int64)", "int32": "tensor(int32)",
             "int8": "tensor(int8)", "uint8": "tensor(uint8)", "bool": "tensor(bool)"}
    return names[dtype] in constraint.get("T2", [])


def _typed(value: float, dtype: str) -> Any:
    if dtype == "bool":
        return bool(value)
    if dtype[0] in "iu":
        return abs(int(value)) if dtype[0] == "u" else int(value)
    return value


kind("ConstantOfShape", SHAPE_FAMILY, _draw_constant_of_shape,
     {"rank": [1, 2, 3]}, free_batch=False)  # no drawn case can have a free batch (measured)


# onnxruntime's CPU Range: float, double, int16, int32, int64 (no float16)
RANGE_DTYPES = ("float32", "float64", "int64", "int32")


def _draw_range(pick: Picker):
    """Every operand a constant (the graph has no input); delta of either sign, so that
    some ranges are empty. start as a graph input (a scalar, the length then depending on
    the data) waits for make_inputs to feed 0-d arrays."""
    opset, dtype = opset_and_dtype(pick, "Range", RANGE_DTYPES)
    delta = pick.draw(st.sampled_from([1.0, 0.5, -1.0, 1.5, -0.5]))
    limit = pick.draw(st.sampled_from([4.0, 0.0, -3.0, 2.5]))
    if dtype[0] == "i":
        delta, limit = int(delta * 2) or 1, int(limit)
    start = pick.draw(st.integers(-4, 4))
    return ({OPSET: opset, OPERANDS: [const(start, dtype), const(limit, dtype),
                                      const(delta, dtype)]}, [], dtype)


kind("Range", SHAPE_FAMILY, _draw_range, {}, dtypes=RANGE_DTYPES,
     free_batch=False)  # no drawn case can have a free batch (measured)


# onnxruntime's CPU EyeLike: float, double, int32, int64 (and uint64) in and out
EYE_DTYPES = ("float32", "float64", "int64", "int32")
TENSOR_TYPES = {"float32": 1, "float64": 11, "int64": 7, "int32": 6}


def _draw_eye_like(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "EyeLike", EYE_DTYPES)
    attrs: dict[str, Any] = {OPSET: opset}
    k = pick("k")
    if k != 0 or written(pick):
        attrs["k"] = k
    if pick.draw(st.booleans()):  # the output type, else the input's
        attrs["dtype"] = pick("dtype")
    return attrs, [dims(pick, 2)], dtype


kind("EyeLike", SHAPE_FAMILY, _draw_eye_like,
     {"k": [0, 1, -1, 2, -3, 5], "dtype": list(TENSOR_TYPES.values())}, dtypes=EYE_DTYPES)
