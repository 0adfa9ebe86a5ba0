"""Matrix products: MatMul (ranks 1-4, broadcast batches, the second operand an input or a
weight initializer as exporters write a linear layer), Gemm, Einsum, Det, MatMulInteger."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import INPUT_DTYPES, OPERANDS
from harness.sources.onnx.op import FLOATS, OPSET
from harness.sources.onnx.ops.math import FLOAT32_16, kind, pick_dtype

FAMILY = "matmul"
MATMUL_DTYPES = (*FLOATS, "int64", "int32")
OPERAND_FORMS = ["input", "weight"]  # weights are seeded floats: float cases only


def size(pick: Picker) -> int:
    return pick.draw(st.integers(1, 4))


def batch_of(pick: Picker, batch: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """The last ``rank`` batch dims, some of them 1 (broadcast against the other operand)."""
    own = batch[len(batch) - rank:] if rank else ()
    return tuple(1 if pick.draw(st.booleans()) else d for d in own)


def _draw_matmul(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "MatMul", opset, MATMUL_DTYPES)
    rank_a = pick.draw(st.sampled_from([2, 1, 3, 4]))
    float_case = dtype in FLOATS
    form = pick("operand_form", among=OPERAND_FORMS if float_case else OPERAND_FORMS[:1])
    rank_b = 2 if form == "weight" else pick.draw(st.sampled_from([2, 1, 3, 4]))
    m, k, n = size(pick), size(pick), size(pick)
    batch = tuple(size(pick) for _ in range(max(rank_a, rank_b, 2) - 2))
    a = (*batch_of(pick, batch, rank_a - 2), m, k) if rank_a > 1 else (k,)
    b = (*batch_of(pick, batch, rank_b - 2), k, n) if rank_b > 1 else (k,)
    attrs: dict[str, Any] = {OPSET: opset}
    if form == "weight":
        attrs[OPERANDS] = ["in", {"weight": list(b), "role": "kernel"}]
        return attrs, [a], dtype
    return attrs, [a, b], dtype


kind("MatMul", FAMILY, _draw_matmul, {"operand_form": OPERAND_FORMS})

# C's shapes, unidirectionally broadcast to (M, N): omitted first, then as exporters write
# a bias ([N]), then the others.
BIAS_FORMS = ["omitted", "n", "1n", "mn", "m1", "scalar", "1"]


def _draw_gemm(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Gemm", opset, FLOATS)
    m, k, n = size(pick), size(pick), size(pick)
    attrs: dict[str, Any] = {OPSET: opset, "transA": pick("transA"), "transB": pick("transB"),
                             "alpha": pick("alpha"), "beta": pick("beta")}
    a = (k, m) if attrs["transA"] else (m, k)
    b = [n, k] if attrs["transB"] else [k, n]
    shapes = [a]
    operands: list[Any] = ["in"]
    if pick("operand_form") == "weight":
        operands.append({"weight": b, "role": "kernel"})
    else:
        operands.append("in")
        shapes.append(tuple(b))
    bias = pick.draw(st.sampled_from(BIAS_FORMS))
    if bias != "omitted":
        c = {"n": [n], "1n": [1, n], "mn": [m, n], "m1": [m, 1], "scalar": [], "1": [1]}[bias]
        if pick("operand_form") == "weight":
            operands.append({"weight": c, "role": "bias"})
        else:
            operands.append("in")
            shapes.append(tuple(c))
    attrs[OPERANDS] = operands
    return attrs, shapes, dtype


kind("Gemm", FAMILY, _draw_gemm, {"transA": [0, 1], "transB": [0, 1],
                                  "alpha": [1.0, 0.5, 2.0, -1.5],
                                  "beta": [1.0, 0.0, 0.5, -2.0],
                                  "operand_form": OPERAND_FORMS})

# Equations as exporters write them (torch.einsum and tf.einsum in attention, bilinear and
# outer products), the simplest first.
EQUATIONS = ["ij,jk->ik", "bij,bjk->bik", "ij->ji", "ij->i", "ij->", "i,i->", "i,j->ij",
             "ij,ij->ij", "bhid,bhjd->bhij", "bhij,bhjd->bhid", "ii->i", "ij,jk",
             "...ij,...jk->...ik", "bn,anm,bm->ba"]


def einsum_shapes(pick: Picker, equation: str) -> list[tuple[int, ...]]:
    """Operand shapes for ``equation``: one size per letter, a shared run of dims for
    ``...``."""
    operands = equation.split("->")[0].split(",")
    sizes: dict[str, int] = {}
    ellipsis: tuple[int, ...] | None = None
    shapes = []
    for operand in operands:
        dims: list[int] = []
        for index, part in enumerate(operand.split("...")):
            if index:
                if ellipsis is None:
                    ellipsis = tuple(size(pick) for _ in range(pick.draw(st.integers(0, 2))))
                dims.extend(ellipsis)
            for letter in part:
                if letter not in sizes:
                    sizes[letter] = size(pick)
                dims.append(sizes[letter])
        shapes.append(tuple(dims))
    return shapes


def _draw_einsum(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Einsum", opset, MATMUL_DTYPES)
    equation = pick("equation")
    return {OPSET: opset, "equation": equation}, einsum_shapes(pick, equation), dtype


kind("Einsum", FAMILY, _draw_einsum, {"equation": EQUATIONS})


def _draw_det(pick: Picker):
    opset = pick(OPSET)
    dtype = pick_dtype(pick, "Det", opset, FLOAT32_16)
    n = size(pick)
    batch = tuple(size(pick) for _ in range(pick.draw(st.integers(0, 2))))
    return {OPSET: opset}, [(*batch, n, n)], dtype


kind("Det", FAMILY, _draw_det, dtypes=FLOAT32_16)

INT8S = ("uint8", "int8")
ZERO_POINT_FORMS = ["omitted", "scalar", "vector"]


def _draw_matmul_integer(pick: Picker):
    opset = pick(OPSET)
    a_dtype = pick.draw(st.sampled_from(INT8S))
    b_dtype = pick.draw(st.sampled_from(INT8S))
    m, k, n = size(pick), size(pick), size(pick)
    batch = tuple(size(pick) for _ in range(pick.draw(st.integers(0, 2))))
    operands: list[Any] = ["in", "in"]
    # zero points: per tensor (a scalar or [1]), or per column of B; onnxruntime's CPU
    # takes no per-row zero point of A
    for dtype, count in ((a_dtype, 1), (b_dtype, n)):
        form = pick.draw(st.sampled_from(ZERO_POINT_FORMS))
        if form == "omitted":
            operands.append(None)
        else:
            points = [pick.draw(st.integers(0, 3)) for _ in range(count)]
            operands.append({"const": points[0] if form == "scalar" else points,
                             "dtype": dtype})
    while operands[-1] is None:
        operands.pop()
    attrs: dict[str, Any] = {OPSET: opset, OPERANDS: operands}
    if b_dtype != a_dtype:
        attrs[INPUT_DTYPES] = [None, b_dtype]
    return attrs, [(*batch, m, k), (k, n)], a_dtype


kind("MatMulInteger", FAMILY, _draw_matmul_integer, dtypes=INT8S)
