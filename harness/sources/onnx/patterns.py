"""Graphs as rewriters see them: drawn 2-6 node motifs (family ``patterns``).

onnxsim, onnxslim, onnxoptimizer and onnxruntime's optimiser rewrite neighbouring nodes: they
fuse a constant Add or Mul into the Conv or Gemm before it, a MatMul and an Add into a Gemm,
merge Transpose, Reshape, Slice and Cast chains, drop no-op Pads and Casts, fold Reduce →
Unsqueeze into keepdims, fold constants and shape subgraphs, and deduplicate nodes that
compute the same thing. A single node between a graph input and a graph output gives them
nothing to do; these kinds draw the neighbourhoods they look for, each with the variants
that a pass must leave alone (a constant that is not per channel, a lossy Cast round trip, a
Slice over an axis the first already sliced, twins whose attributes differ, a shape that is
free at run time).

Every kind is a graph kind (``harness.sources.onnx.graphs``: the same spec, builder and
forms), so each operand is drawn as an initializer, a Constant node or a graph input that the
case feeds (``form_operands``), and the batch free where the graph allows it. A kind draws
its variants simplest first and its blocks as Hypothesis draws a list's elements, so a
failing motif shrinks to the fewest nodes that still fail.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import OPSET
from harness.sources.onnx.graphs import (
    FLOAT,
    GEMM_DOMAINS,
    IMAGE_DOMAINS,
    INT64_MAX,
    Graph,
    Ref,
    _reshape,
    _slice,
    _transpose,
    const,
    conv,
    each_block,
    gemm,
    image,
    integer,
    register_graph,
    weight,
)
from harness.sources.onnx.op import OPSETS

FAMILY = "patterns"


def register_pattern(name: str, draw, domains: dict[str, list[Any]], doc: str,
                     free_batch: bool = True):
    return register_graph(name, draw, domains, doc, free_batch=free_batch, family=FAMILY)


# -- a producer (Conv, ConvTranspose, Gemm, MatMul) and the constants that follow it ---------

PRODUCER_DOMAINS: dict[str, list[Any]] = {
    **IMAGE_DOMAINS, **GEMM_DOMAINS,
    "producer": ["Conv", "Gemm", "MatMul", "ConvTranspose"],
    "bias": [True, False],  # torch's default first
    "kernel": [1, 3, 2],
    "strides": [1, 2],
    "pads": [0, 1],
    "group": ["full", "depthwise"],
    # two first: with one channel a per-channel constant is a scalar, and a fusion that
    # puts it on the wrong axis goes unseen
    "out_channels": [2, 1, 3, 4],
    "matmul_rank": [2, 3],
    "follow": ["Add", "Mul", "BatchNormalization", "Sub", "Div", "Reshape"],
    # the constant's shape: per channel ([C,1,1] or [1,C,1,1]; [U] after a Gemm), one value,
    # a scalar, the whole output, or along the last axis only (which no bias can hold)
    "const_shape": ["channel", "channel4", "scalar", "one", "full", "last"],
    "const_side": ["right", "left"],
    "epsilon": [1e-5, 1e-3],
}
ROLE_OF = {"Add": "bias", "Sub": "bias", "Mul": "scale", "Div": "variance"}


def producer(g: Graph, pick: Picker) -> tuple[Ref, list[int]]:
    """A Conv, ConvTranspose, Gemm or MatMul with initializer weights on a graph input."""
    kind = pick("producer")
    if kind in ("Conv", "ConvTranspose"):
        shape = image(pick, 1, 5)
        x = g.input(shape)
        n, c, h, w = shape
        k = min(pick("kernel"), h, w) if kind == "Conv" else pick("kernel")
        s = pick("strides")
        # pads below the kernel (a Conv's rule) and below half of it (a ConvTranspose's
        # output is (d - 1) * s - 2 * p + k, at least 1)
        p = pick("pads", among=[p for p in pick.domain("pads")
                                if (p < k if kind == "Conv" else 2 * p < k)])
        out = pick("out_channels")
        depthwise = pick("group") == "depthwise" and c > 1
        group = c if depthwise else 1
        if kind == "Conv":
            ref, out_shape = conv(g, x, shape, c if depthwise else out, (k, k),
                                  strides=(s, s), pads=(p, p, p, p), group=group,
                                  bias=pick("bias"))
            return ref, list(out_shape)
        out = c if depthwise else out
        inputs: list[Ref] = [x, weight([c, out // group, k, k])]
        if pick("bias"):
            inputs.append(weight([out], "bias"))
        ref = g.add("ConvTranspose", inputs, {"group": group, "kernel_shape": [k, k],
                                               "pads": [p] * 4, "strides": [s, s]})
        return ref, [n, out, *((d - 1) * s - 2 * p + k for d in (h, w))]
    if kind == "Gemm":
        features = integer(pick, 1, 6)
        x = g.input((pick("batch"), features))
        units = pick("units")
        return gemm(g, pick, x, features, units), [g.shapes[-1][0], units]
    rank = pick("matmul_rank")
    features, units = integer(pick, 1, 6), pick("units")
    shape = [pick("batch"), *([integer(pick, 1, 4)] if rank == 3 else []), features]
    x = g.input(tuple(shape))
    return g.add("MatMul", [x, weight([features, units])]), [*shape[:-1], units]


def constant_shape(pick: Picker, shape: list[int]) -> list[int]:
    rank, choice = len(shape), pick("const_shape")
    if rank < 2:  # after a Reshape to one axis
        return {"scalar": [], "one": [1]}.get(choice, [shape[-1]])
    forms = {"channel": [shape[1]] + [1] * (rank - 2) if rank > 2 else [shape[-1]],
             "channel4": [1, shape[1]] + [1] * (rank - 2),
             "scalar": [], "one": [1], "full": [1, *shape[1:]],
             "last": [shape[-1]]}
    return forms[choice]


def follow(g: Graph, pick: Picker, at: list[Any]) -> None:
    """One node after ``at`` = [ref, shape]: a constant Add, Mul, Sub or Div (either side; a
    Div's divisor is the constant), a BatchNormalization, or a Reshape."""
    x, shape = at
    op = pick("follow", among=[o for o in pick.domain("follow")
                               if o != "BatchNormalization" or len(shape) >= 2])
    if op == "BatchNormalization":
        c = shape[1]
        at[0] = g.add(op, [x, weight([c], "scale"), weight([c], "beta"), weight([c], "mean"),
                           weight([c], "variance")], {"epsilon": pick("epsilon")})
        return
    if op == "Reshape":
        at[:] = _reshape(g, pick, x, list(shape))
        return
    operand = weight(constant_shape(pick, shape), ROLE_OF[op])
    left = op != "Div" and pick("const_side") == "left"
    at[0] = g.add(op, [operand, x] if left else [x, operand])


def producer_kind(producers: list[str]):
    """The domains and draw of a producer kind over ``producers``."""
    domains = {**PRODUCER_DOMAINS, "producer": producers}

    def draw_producer_const(pick: Picker):
        g = Graph(pick)
        at: list[Any] = list(producer(g, pick))
        each_block(pick, domains, 1, 3, lambda pick, _i: follow(g, pick, at))
        return g.drawn([at[0]])

    return draw_producer_const, domains


# One kind a producer, so that each gets its own examples (the ci profile draws twelve).
PRODUCER_KINDS = {"ConvConst": ["Conv"], "ConvTransposeConst": ["ConvTranspose"],
                  "GemmConst": ["Gemm", "MatMul"]}
for _name, _producers in PRODUCER_KINDS.items():
    register_pattern(
        _name, *producer_kind(_producers),
        f"{' or '.join(_producers)} (with or without bias"
        f"{', depthwise' if 'Conv' in _producers[0] else ''}) → 1-3 of a constant Add, Mul, "
        "Sub or Div (per channel, one value, a scalar, the whole output or the last axis "
        "only; the constant on either side), BatchNormalization or Reshape: what the bias, "
        "scale and BatchNormalization fusions rewrite")


# -- MatMul + Add ------------------------------------------------------------------------------

MATMUL_ADD_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "units": [2, 1, 3, 4],
    "rank": [2, 3],
    "weight_side": ["right", "left"],  # MatMul(x, W) or MatMul(W, x)
    "weight_form": ["constant", "fed"],
    "bias_shape": ["last", "full", "scalar"],
    "bias_form": ["constant", "fed"],
    "add_order": ["product_first", "bias_first"],
    "between": ["none", "Relu"],
}


def matmul_add(g: Graph, pick: Picker, at: list[Any], index: int) -> None:
    """MatMul with its weight on either side (a constant or fed) → Add with its bias first
    or second (a constant or fed), on ``at`` = [ref, shape]."""
    x, shape = at
    if index and pick("between") == "Relu":
        x = g.add("Relu", [x])
    units = pick("units")
    side = pick("weight_side")
    if side == "right":
        w_shape, out = [shape[-1], units], [*shape[:-1], units]
    else:
        w_shape, out = [units, shape[-2]], [*shape[:-2], units, shape[-1]]
    w: Ref = weight(w_shape) if pick("weight_form") == "constant" else g.input(tuple(w_shape))
    y = g.add("MatMul", [x, w] if side == "right" else [w, x])
    b_shape = {"last": [out[-1]], "full": out[-2:], "scalar": []}[pick("bias_shape")]
    b: Ref = (weight(b_shape, "bias") if pick("bias_form") == "constant" or not b_shape
              else g.input(tuple(b_shape)))
    y = g.add("Add", [y, b] if pick("add_order") == "product_first" else [b, y])
    at[:] = [y, out]


def _draw_matmul_add(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 5) for _ in range(rank - 1)]]
    at: list[Any] = [g.input(tuple(shape)), shape]
    each_block(pick, MATMUL_ADD_DOMAINS, 1, 2, lambda pick, i: matmul_add(g, pick, at, i))
    return g.drawn([at[0]])


register_pattern(
    "MatMulAdd", _draw_matmul_add, MATMUL_ADD_DOMAINS,
    "1-2 MatMul → Add on a rank-2 or 3 input: the weight on the right or the left (a constant "
    "or fed), the bias along the last axis, whole or scalar (a constant or fed), the product "
    "first or second: what MatMul+Add → Gemm fusions rewrite")


# -- chains an eliminator could merge or drop, and ones it must not -------------------------

CHAIN_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 4, 2],
    "op": ["Transpose", "Reshape", "Cast", "Pad", "Slice", "Squeeze", "Unsqueeze", "Concat",
           "Split", "Identity"],
    "noop": [False, True],  # the no-op form of the op (an identity permutation, zero pads...)
    "cast_to": ["float64", "float16", "int32", "float32"],
    "pad": [0, 1, 2],
    "pad_mode": ["constant", "edge", "reflect"],
    "perm_form": ["explicit", "omitted"],
    "end_form": ["exact", "int64_max", "negative"],
    "step": [1, 2, -1],
    "concat_with": ["self", "constant"],
    "split_order": ["same", "reversed"],
}
CAST_CODES = {"float32": 1, "float16": 10, "float64": 11, "int32": 6}
INT_CASTS = ("int32",)


class Chain:
    """A chain's position: its ref, its shape and the dtype its last node makes."""

    def __init__(self, g: Graph, shape: list[int]):
        self.g = g
        self.ref: Ref = g.input(tuple(shape))
        self.shape = list(shape)
        self.dtype = FLOAT


def chain_step(pick: Picker, at: Chain) -> None:
    g, x, shape = at.g, at.ref, at.shape
    noop = pick("noop")
    op = pick("op", among=[o for o in pick.domain("op")
                           if o != "Squeeze" or (1 in shape and len(shape) > 1)
                           if o != "Unsqueeze" or len(shape) < 6
                           if o != "Split" or max(shape) > 1 or noop]
              or ["Identity"])
    rank = len(shape)
    if op == "Identity":
        at.ref = g.add("Identity", [x])
    elif op == "Transpose":
        if noop:
            at.ref = g.add("Transpose", [x], {"perm": list(range(rank))})
        else:
            at.ref, at.shape = _transpose(g, pick, x, shape)
    elif op == "Reshape":
        if noop:
            at.ref = g.add("Reshape", [x, const(shape)])
        else:
            at.ref, at.shape = _reshape(g, pick, x, shape)
    elif op == "Cast":
        to = at.dtype if noop else pick("cast_to")
        at.ref = g.add("Cast", [x], {"to": CAST_CODES[to]})
        at.dtype = to
    elif op == "Pad":
        mode = "constant" if at.dtype in INT_CASTS else pick("pad_mode")
        pads = [0] * (2 * rank)
        if not noop:
            for a in range(rank):  # reflect reads inside the input: pads below the size
                for side in (0, rank):
                    pads[a + side] = pick("pad", among=[p for p in pick.domain("pad")
                                                        if mode != "reflect" or p < shape[a]])
        at.ref = g.add("Pad", [x, const(pads)], {"mode": mode})
        at.shape = [d + pads[a] + pads[a + rank] for a, d in enumerate(shape)]
    elif op == "Slice":
        if noop:  # the whole of one axis
            axis = pick.draw(st.integers(0, rank - 1))
            at.ref = g.add("Slice", [x, const([0]), const([shape[axis]]), const([axis])])
        else:
            at.ref, at.shape = _slice(g, pick, x, shape)
    elif op == "Squeeze":
        ones = [a for a, d in enumerate(shape) if d == 1]
        axes = sorted(pick.draw(st.lists(st.sampled_from(ones), min_size=1,
                                         max_size=min(len(ones), rank - 1), unique=True)))
        at.ref = g.add("Squeeze", [x, const(axes)])
        at.shape = [d for a, d in enumerate(shape) if a not in axes]
    elif op == "Unsqueeze":
        axis = pick.draw(st.integers(-rank - 1, rank))
        at.ref = g.add("Unsqueeze", [x, const([axis])])
        at.shape = list(shape)
        at.shape.insert(axis % (rank + 1), 1)
    elif op == "Concat":
        axis = pick.draw(st.integers(0, rank - 1))
        if noop:  # one input
            at.ref = g.add("Concat", [x], {"axis": axis})
        else:
            other: Ref = x
            if pick("concat_with") == "constant":
                other_shape = list(shape)
                other_shape[axis] = integer(pick, 1, 2)
                other = {**weight(other_shape, "bias"), "dtype": at.dtype}
                at.shape = list(shape)
                at.shape[axis] += other_shape[axis]
            else:
                at.shape = list(shape)
                at.shape[axis] *= 2
            at.ref = g.add("Concat", [x, other], {"axis": axis})
    elif noop:  # a Split into one part
        axis = pick.draw(st.integers(0, rank - 1))
        at.ref = g.add("Split", [x, const([shape[axis]])], {"axis": axis})
    else:  # Split then Concat the parts back (in order: an identity; reversed: not)
        axis = pick.draw(st.sampled_from([a for a, d in enumerate(shape) if d > 1]))
        cut = pick.draw(st.integers(1, shape[axis] - 1))
        parts = g.add("Split", [x, const([cut, shape[axis] - cut])], {"axis": axis},
                      outputs=2)
        if pick("split_order") == "reversed" and not noop:
            parts = parts[::-1]
        at.ref = g.add("Concat", parts, {"axis": axis})


def chain_kind(ops: list[str]):
    """The domains and draw of a chain over ``ops``."""
    domains = {**CHAIN_DOMAINS, "op": ops}

    def draw_chain(pick: Picker):
        g = Graph(pick)
        rank = pick("rank")
        shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
        at = Chain(g, shape)
        each_block(pick, domains, 2, 5, lambda pick, _i: chain_step(pick, at))
        if at.dtype != FLOAT:  # back to the case's dtype, as a model's output is
            at.ref = g.add("Cast", [at.ref], {"to": CAST_CODES[FLOAT]})
        return g.drawn([at.ref])

    return draw_chain, domains


# Two kinds, so that each op gets its share of the ci profile's twelve examples.
register_pattern(
    "LayoutChain", *chain_kind(["Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity"]),
    "2-5 of Transpose, Reshape (with -1 and 0), Squeeze, Unsqueeze and Identity, each also in "
    "its no-op form (an identity permutation, its own shape): what the eliminate-nop and "
    "fuse-consecutive passes merge or drop, and the neighbours they must keep")
register_pattern(
    "SliceCastChain", *chain_kind(["Slice", "Cast", "Pad", "Concat", "Split"]),
    "2-5 of Slice (steps, negative and int64-max ends), Cast (to float64, float16, int32: "
    "lossless and lossy round trips), Pad (constant, edge, reflect), Concat (one input, "
    "itself or a constant) and Split (one part, or two concatenated back in order or "
    "reversed), each also in its no-op form: what the eliminate-nop, fuse-consecutive-slices "
    "and Cast passes merge or drop, and the neighbours they must keep")


# -- Reduce → Unsqueeze, and shape subgraphs ---------------------------------------------------

REDUCE_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 4, 2],
    "reduce": ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
               "ReduceL2", "ReduceSumSquare"],
    "then": ["Unsqueeze", "Unsqueeze_other", "Sub", "Squeeze"],
    "negative_axes": [False, True],
}
AXES_AS_INPUT_SINCE = {"ReduceSum": 13}  # the others take axes as an input from opset 18


def _draw_reduce(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    x = g.input(tuple(shape))
    op = pick("reduce")
    then = pick("then")
    axes = sorted(pick.draw(st.lists(st.integers(1, rank - 1), min_size=1, unique=True)))
    written = [a - rank for a in axes] if pick("negative_axes") else axes
    keepdims = 1 if then in ("Sub", "Squeeze") else 0
    attrs: dict[str, Any] = {"keepdims": keepdims}
    if g.opset >= AXES_AS_INPUT_SINCE.get(op, 18):
        r = g.add(op, [x, const(written)], attrs)
    else:
        r = g.add(op, [x], {**attrs, "axes": written})
    if then == "Unsqueeze":  # back to keepdims=1: the fusion's case
        y = g.add("Unsqueeze", [r, const(axes)])
    elif then == "Unsqueeze_other":  # the kept axes' rank again, the ones elsewhere: not it
        kept = rank - len(axes)
        y = g.add("Unsqueeze", [r, const(list(range(kept, rank)))])
    elif then == "Sub":  # x - mean(x): a normalisation's first half
        y = g.add("Sub", [x, r])
    else:
        y = g.add("Squeeze", [r, const(axes)])
    return g.drawn([y])


register_pattern(
    "ReduceUnsqueeze", _draw_reduce, REDUCE_DOMAINS,
    "a Reduce (keepdims=0, axes positive or negative, as an attribute or an input) → "
    "Unsqueeze over the same axes (a keepdims=1 in two nodes) or other ones; a keepdims=1 "
    "Reduce → Squeeze, or x − Reduce(x)")


SHAPE_DOMAINS: dict[str, list[Any]] = {
    OPSET: [v for v in OPSETS if v >= 15], "batch": [1, 2], "rank": [3, 4, 2],
    "use": ["reshape_start", "reshape_end", "gather", "slice", "expand", "constant_of_shape"],
    "minus_one": ["first", "last"],
    "clamped": [False, True],  # a start or end outside [-rank, rank]: clamped
    "negative": [False, True],
}


def _draw_shape(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    x = g.input(tuple(shape))
    use = pick("use")
    if use in ("reshape_start", "reshape_end"):
        cut = pick.draw(st.integers(0, rank))
        written = cut - rank if pick("negative") else cut
        if pick("clamped") and cut in (0, rank):
            written = -rank - 3 if cut == 0 else rank + 3
        # Reshape(x, Concat([-1], Shape(x)[cut:])) or Concat(Shape(x)[:cut], [-1])
        attrs = {"start": written} if use == "reshape_start" else {"end": written}
        dims = g.add("Shape", [x], attrs)
        parts = [const([-1]), dims] if pick("minus_one") == "first" else [dims, const([-1])]
        y = g.add("Reshape", [x, g.add("Concat", parts, {"axis": 0})])
    elif use == "gather":  # torch: x.view(x.size(0), -1)
        axis = pick.draw(st.integers(0, rank - 1))
        size = g.add("Gather", [g.add("Shape", [x]), const(axis)], {"axis": 0})
        size = g.add("Unsqueeze", [size, const([0])])
        parts = [size, const([-1])] if pick("minus_one") == "last" else [const([-1]), size]
        y = g.add("Reshape", [x, g.add("Concat", parts, {"axis": 0})])
    elif use == "slice":  # Shape(x)[a:b] as a Slice (older exporters), then Reshape
        cut = pick.draw(st.integers(1, rank))
        dims = g.add("Slice", [g.add("Shape", [x]), const([0]), const([cut])])
        y = g.add("Reshape", [x, g.add("Concat", [dims, const([-1])], {"axis": 0})])
    elif use == "expand":  # a per-channel constant expanded to x's shape, then added
        channel = weight([1, shape[1], *[1] * (rank - 2)], "bias")
        y = g.add("Add", [x, g.add("Expand", [channel, g.add("Shape", [x])])])
    else:
        zeros = g.add("ConstantOfShape", [g.add("Shape", [x], {"start": 1})],
                      {"value": {"tensor": [1.5], "dtype": FLOAT}})
        y = g.add("Mul", [x, zeros])
    return g.drawn([y])


register_pattern(
    "ShapeSubgraph", _draw_shape, SHAPE_DOMAINS,
    "shape subgraphs whose result is used: Reshape by Concat([-1], Shape(x, start)) or "
    "Concat(Shape(x, end), [-1]) (start and end negative or clamped), x.view(x.size(i), -1) "
    "as Shape → Gather → Unsqueeze → Concat, Expand to Shape(x), ConstantOfShape(Shape(x, "
    "start=1)): what a folder folds where the shape is fixed and must keep where it is free")


# -- the same op twice on the same inputs (common-subexpression elimination) ----------------

TWIN_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 2, 4],
    "op": ["Relu", "Transpose", "Softmax", "LeakyRelu", "ReduceSum", "Cast", "Add",
           "Reshape", "Slice", "Sigmoid"],
    "same": [True, False],  # the same attributes and constants, or different ones
    "combine": ["Add", "outputs", "Concat"],
    "alpha": [0.1, 0.2],
}


def twin(g: Graph, pick: Picker, x: Ref, shape: list[int], op: str, variant: int
         ) -> tuple[Ref, list[int]]:
    """One of the twins: the same op with its ``variant``-th attributes or constants."""
    rank = len(shape)
    if op in ("Relu", "Sigmoid"):
        return g.add(op, [x]), shape
    if op == "LeakyRelu":
        return g.add(op, [x], {"alpha": pick.domain("alpha")[variant]}), shape
    if op == "Transpose":
        perm = list(range(rank))[::-1] if variant == 0 else [*range(1, rank), 0]
        return g.add(op, [x], {"perm": perm}), [shape[p] for p in perm]
    if op == "Softmax":
        return g.add(op, [x], {"axis": -1 - variant}), shape
    if op == "ReduceSum":
        return g.add(op, [x, const([rank - 1])], {"keepdims": 1 - variant}), (
            [*shape[:-1], 1] if variant == 0 else shape[:-1])
    if op == "Cast":
        return g.add(op, [x], {"to": CAST_CODES[("float64", "float16")[variant]]}), shape
    if op == "Add":  # equal constants, written twice as exporters do, or different ones
        return g.add(op, [x, const([1.0, -2.0][variant], FLOAT)]), shape
    if op == "Reshape":
        target = [shape[0], -1] if variant == 0 else [-1]
        return g.add(op, [x, const(target)]), (
            [shape[0], math.prod(shape[1:])] if variant == 0 else [math.prod(shape)])
    end = shape[-1] - variant if shape[-1] > 1 else shape[-1]  # Slice
    return g.add(op, [x, const([0]), const([end]), const([-1])]), [*shape[:-1], end]


def _draw_twins(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    x = g.input(tuple(shape))
    op = pick("op")
    same = pick("same")
    a, a_shape = twin(g, pick, x, shape, op, 0)
    b, b_shape = twin(g, pick, x, shape, op, 0 if same else 1)
    if op == "Cast":  # back to the case's dtype, each
        a = g.add("Cast", [a], {"to": CAST_CODES[FLOAT]})
        b = g.add("Cast", [b], {"to": CAST_CODES[FLOAT]})
    combine = pick("combine")
    if combine == "outputs" or (a_shape != b_shape and combine == "Add"):
        return g.drawn([a, b])
    if a_shape != b_shape:  # Concat of the flattened twins
        a = g.add("Reshape", [a, const([-1])])
        b = g.add("Reshape", [b, const([-1])])
        return g.drawn([g.add("Concat", [a, b], {"axis": 0})])
    if combine == "Concat":
        return g.drawn([g.add("Concat", [a, b], {"axis": 0})])
    return g.drawn([g.add("Add", [a, b])])


register_pattern(
    "TwinOps", _draw_twins, TWIN_DOMAINS,
    "the same op twice on the same input, with the same attributes and equal constants (one "
    "node is redundant) or different ones (both are needed), then Add, Concat or both as "
    "graph outputs: what common-subexpression elimination merges")


# -- constants a folder can fold next to inputs it must not -----------------------------------

FOLD_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [2, 3, 4],
    "fold_op": ["Add", "Mul", "Neg", "Sqrt", "Reciprocal", "Unsqueeze", "Cast", "Transpose"],
    "combine": ["Add", "Mul", "Sub", "Div"],
    "input_side": ["first", "second"],
    "with_shape": [False, True],  # a value from x's own shape beside the constant
}


def _draw_fold(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    x = g.input(tuple(shape))
    c_shape = list(shape[1:])
    c: Ref = weight(c_shape, "variance")  # positive: Sqrt and Reciprocal stay finite
    unsqueezed = False

    def fold_step(pick: Picker, _index: int) -> None:
        nonlocal c, c_shape, unsqueezed
        op = pick("fold_op", among=[o for o in pick.domain("fold_op")
                                    if o != "Unsqueeze" or not unsqueezed])
        if op in ("Add", "Mul"):
            c = g.add(op, [c, const(2.0 if op == "Mul" else 0.5, FLOAT)])
        elif op == "Neg":
            c = g.add("Abs", [g.add("Neg", [c])])  # stays positive
        elif op in ("Sqrt", "Reciprocal"):
            c = g.add(op, [c])
        elif op == "Unsqueeze":
            c = g.add("Unsqueeze", [c, const([0])])
            c_shape = [1, *c_shape]
            unsqueezed = True
        elif op == "Cast":
            c = g.add("Cast", [g.add("Cast", [c], {"to": CAST_CODES["float64"]})],
                      {"to": CAST_CODES[FLOAT]})
        else:  # a Transpose of a square constant keeps it broadcastable
            if len(c_shape) >= 2 and c_shape[-1] == c_shape[-2]:
                perm = [*range(len(c_shape) - 2), len(c_shape) - 1, len(c_shape) - 2]
                c = g.add("Transpose", [c], {"perm": perm})
            else:
                c = g.add("Identity", [c])

    each_block(pick, FOLD_DOMAINS, 1, 3, fold_step)
    if pick("with_shape"):  # x's batch size as a float: fixed here, free where it is free
        size = g.add("Gather", [g.add("Shape", [x]), const([0])], {"axis": 0})
        c = g.add("Mul", [c, g.add("Cast", [size], {"to": CAST_CODES[FLOAT]})])
    combine = pick("combine")
    y = g.add(combine, [x, c] if pick("input_side") == "first" or combine == "Div" else [c, x])
    return g.drawn([y])


register_pattern(
    "FoldNextToInput", _draw_fold, FOLD_DOMAINS,
    "a constant subgraph of 1-3 foldable nodes (Add, Mul, Neg → Abs, Sqrt, Reciprocal, "
    "Unsqueeze, a Cast round trip, Transpose) combined with the graph input by Add, Mul, Sub "
    "or Div on either side, optionally scaled by x's batch size from Shape → Gather → Cast: "
    "what constant folding folds, next to what it must not")


# -- pairs and branches that one pass each looks for ------------------------------------------

PAIR_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "units": [1, 2, 3],
    "motif": ["idempotent", "unit", "monotone_argmax", "softmax_log", "transpose_gemm",
              "where_not", "expand", "qkv", "dead_end", "dropout", "flatten"],
    "idempotent": ["Relu", "Floor", "Ceil", "Round", "Sign"],
    "unit": ["Add", "Mul", "Sub", "Div", "Pow"],
    "unit_value": ["unit", "not_unit"],  # 0 (1 for Mul, Div, Pow) in every element, or not
    "monotone": ["Softmax", "LogSoftmax", "Exp", "Log", "Relu"],
    "same_axis": [True, False],
    "keepdims": [1, 0],
    "transposed": ["A", "B"],
    "expand_to": ["ones", "same", "broadcast"],
    "qkv_input": ["node", "graph_input"],
    "qkv_sizes": ["equal", "different"],
    "qkv_use": ["outputs", "added"],
    "ratio": [0.5, 0.0],
}


def _draw_pair(pick: Picker):
    motif = pick("motif")
    g = Graph(pick)
    n, f = pick("batch"), integer(pick, 1, 5)
    if motif == "transpose_gemm":  # Gemm(Transpose(x)) or Gemm(x, Transpose(w)): a trans flag
        x = g.input((f, n))
        units = pick("units")
        if pick("transposed") == "A":
            y = g.add("Gemm", [g.add("Transpose", [x], {"perm": [1, 0]}),
                               weight([f, units]), weight([units], "bias")])
        else:
            y = g.add("Gemm", [g.add("Transpose", [x], {"perm": [1, 0]}),
                               g.add("Transpose", [weight([units, f])], {"perm": [1, 0]})])
        return g.drawn([y])
    shape = (n, integer(pick, 1, 4), f)
    x = g.input(shape)
    if motif == "idempotent":  # the same op twice: once is enough
        op = pick("idempotent")
        return g.drawn([g.add(op, [g.add(op, [x])])])
    if motif == "unit":  # x + 0, x * 1, x - 0, x / 1, x ** 1; or a value that is not the unit
        op = pick("unit")
        unit = 0.0 if op in ("Add", "Sub") else 1.0
        value = [unit] * f if pick("unit_value") == "unit" else [unit] * (f - 1) + [unit + 0.5]
        base = g.add("Abs", [x]) if op == "Pow" else x  # a real power of a negative is NaN
        return g.drawn([g.add("Neg", [g.add(op, [base, const(value, FLOAT)])])])
    if motif == "monotone_argmax":  # ArgMax after a monotone op: the op can go
        op = pick("monotone")
        axis = -1 if pick("same_axis") else 1
        attrs = {"axis": -1} if op in ("Softmax", "LogSoftmax") else {}
        y = g.add(op, [g.add("Abs", [x]) if op == "Log" else x], attrs)
        return g.drawn([g.add("ArgMax", [y], {"axis": axis, "keepdims": pick("keepdims")})])
    if motif == "softmax_log":  # Log(Softmax(x)): a LogSoftmax
        return g.drawn([g.add("Log", [g.add("Softmax", [x], {"axis": -1})])])
    if motif == "where_not":  # Where(Not(c), x, y): Where(c, y, x)
        cond = g.add("Not", [g.add("Greater", [x, const(0.0, FLOAT)])])
        return g.drawn([g.add("Where", [cond, x, g.add("Neg", [x])])])
    if motif == "expand":
        to = pick("expand_to")
        target = {"ones": [1] * len(shape), "same": list(shape),
                  "broadcast": [2, *shape]}[to]
        return g.drawn([g.add("Neg", [g.add("Expand", [x, const(target)])])])
    if motif == "qkv":  # three MatMuls of one input by constant weights (attention's Q, K, V)
        if pick("qkv_input") == "node":
            x = g.add("Relu", [x])
        units = [pick("units")] * 3 if pick("qkv_sizes") == "equal" else [1, 2, 3]
        products = [g.add("MatMul", [x, weight([f, u])]) for u in units]
        if pick("qkv_use") == "added" and len(set(units)) == 1:
            return g.drawn([g.add("Add", [g.add("Add", products[:2]), products[2]])])
        return g.drawn(products)
    if motif == "dead_end":  # a branch whose output nothing reads
        g.add("Sigmoid", [g.add("Exp", [x])])
        return g.drawn([g.add("Relu", [x])])
    if motif == "dropout":  # inference: an identity
        ratio = pick("ratio")
        return g.drawn([g.add("Neg", [g.add("Dropout", [x, const(ratio, FLOAT)])])])
    # Flatten of a rank-2 tensor at axis 1: a no-op; at axis 0 not
    flat = g.add("Reshape", [x, const([n, -1])])
    return g.drawn([g.add("Flatten", [flat], {"axis": pick.draw(st.sampled_from([1, 0]))})])


# Two kinds, so that each motif gets its share of the ci profile's twelve examples.
register_pattern(
    "OpPairs", _draw_pair,
    {**PAIR_DOMAINS, "motif": ["idempotent", "unit", "monotone_argmax", "softmax_log",
                               "where_not", "expand"]},
    "the pairs one pass each looks for: an idempotent op twice (Relu, Floor, Ceil, Round, "
    "Sign), an op by its unit (x + 0, x * 1, ...) or by a value that is not one, ArgMax after "
    "a monotone op (on its axis or not), Log(Softmax), Where(Not(c)), Expand to ones, its own "
    "shape or more")
register_pattern(
    "OpBranches", _draw_pair,
    {**PAIR_DOMAINS, "motif": ["qkv", "transpose_gemm", "dead_end", "dropout", "flatten"]},
    "the branches and wrappers one pass each looks for: three MatMuls of one input (Q, K, V; "
    "equal or different sizes; after a node or on a graph input), Gemm of a Transpose, a dead "
    "branch, Dropout, a Flatten that is a no-op and one that is not")


# -- the no-ops and merges a pass checks against the shapes it can see ------------------------

TARGET_DOMAINS: dict[str, list[Any]] = {
    # shape inference types a Reshape by a Concat from opset 15 (its data propagation)
    OPSET: [v for v in OPSETS if v >= 15], "batch": [1, 2],
    # each motif's first value is the form its pass rewrites, the others ones it must keep
    "flatten_axis": [1, -1, 0],
    "reshape_to": ["same", "zero", "minus_one", "other"],
    "expand_to": ["ones", "same", "broadcast"],
    "unit": ["Add", "Mul", "Sub", "Div", "Pow"],
    "unit_value": ["unit", "not_unit"],
    "same_axes": [True, False],
    "bias": [True, False],
    "kernel": [1, 2],
    "after_gemm": ["Add", "Mul"],
    "add_shape": ["last", "scalar"],
    "pad": [1, 0],
    "count_include_pad": [1, 0],
}


def _then_neg(g: Graph, ref: Ref) -> list[Ref]:
    """A reader after the motif: a pass drops a no-op by rewiring its readers to its input,
    which it cannot do for a graph output read straight from a graph input."""
    return [g.add("Neg", [ref])]


def _target_flatten(g: Graph, pick: Picker) -> list[Ref]:
    x = g.input((pick("batch"), integer(pick, 1, 4)))
    return _then_neg(g, g.add("Flatten", [x], {"axis": pick("flatten_axis")}))


def _target_reshape(g: Graph, pick: Picker) -> list[Ref]:
    n, a, b = pick("batch"), integer(pick, 1, 3), integer(pick, 1, 3)
    x = g.input((n, a, b))
    # the batch as -1 or 0 (copied), so that it can be free
    target = {"same": [-1, a, b], "zero": [0, a, b], "minus_one": [0, a, -1],
              "other": [0, a * b]}[pick("reshape_to")]
    return _then_neg(g, g.add("Reshape", [x, const(target)]))


def _target_expand(g: Graph, pick: Picker) -> list[Ref]:
    to = pick("expand_to")
    n, a, b = pick("batch"), integer(pick, 1, 3), integer(pick, 1, 3)
    x = g.input((n, a, 1 if to == "broadcast" else b))
    # its own shape but the batch, which 1 keeps (so that it can be free)
    target = {"ones": [1, 1, 1], "same": [1, a, b], "broadcast": [1, a, b + 1]}[to]
    return _then_neg(g, g.add("Expand", [x, const(target)]))


def _target_unit(g: Graph, pick: Picker) -> list[Ref]:
    f = integer(pick, 1, 4)
    x = g.input((pick("batch"), integer(pick, 1, 3), f))
    op = pick("unit")
    unit = 0.0 if op in ("Add", "Sub") else 1.0
    # not the unit in one element: 2 (x ** 2 stays real for a negative x)
    values = [unit] * f if pick("unit_value") == "unit" else [unit] * (f - 1) + [2.0]
    return _then_neg(g, g.add(op, [x, const(values, FLOAT)]))


def _target_unsqueeze(g: Graph, pick: Picker) -> list[Ref]:
    """Unsqueeze → Unsqueeze (merged) → Squeeze of the axis just added (with the second, a
    no-op) or of another 1."""
    n, a = pick("batch"), integer(pick, 2, 3)
    x = g.input((n, a))
    # never before the batch, so that it can be free
    first = pick.draw(st.sampled_from([1, 2, -1, -2]))
    second = pick.draw(st.sampled_from([1, 2, 3, -1, -2, -3]))
    y = g.add("Unsqueeze", [g.add("Unsqueeze", [x, const([first])]), const([second])])
    shape = [n, a]
    shape.insert(first % 3, 1)
    shape.insert(second % 4, 1)
    ones = [i for i, d in enumerate(shape) if d == 1 and i]
    axis = second % 4 if pick("same_axes") else pick.draw(st.sampled_from(ones))
    return _then_neg(g, g.add("Squeeze", [y, const([axis])]))


def _target_squeeze(g: Graph, pick: Picker) -> list[Ref]:
    """Squeeze → Squeeze of (n, 1, a, 1) (merged) → Unsqueeze of the axis just removed (with
    the second, a no-op) or another."""
    x = g.input((pick("batch"), 1, integer(pick, 2, 3), 1))
    first = pick.draw(st.sampled_from([1, 3, -1]))
    second = 2 if first == 1 else 1  # the other 1, in the rank-3 result
    y = g.add("Squeeze", [g.add("Squeeze", [x, const([first])]), const([second])])
    back = second if pick("same_axes") else 3 - second
    return _then_neg(g, g.add("Unsqueeze", [y, const([back])]))


def _target_concat(g: Graph, pick: Picker) -> list[Ref]:
    """Concat(Concat(x, -x), Concat(-x, x)) along one axis (merged) or along two; of x and
    a node, not constants, so that the batch can be free."""
    x = g.input((pick("batch"), integer(pick, 1, 3), integer(pick, 1, 3)))
    axis = pick.draw(st.integers(1, 2))
    negated = g.add("Neg", [x])
    first = g.add("Concat", [x, negated], {"axis": axis})
    second = g.add("Concat", [negated, x], {"axis": axis})
    outer = axis if pick("same_axes") else 3 - axis
    return _then_neg(g, g.add("Concat", [first, second], {"axis": outer}))


def _size(g: Graph, dims: Ref, i: int) -> Ref:
    """Dimension ``i`` of a Shape's output as a one-element tensor, as torch.onnx writes
    x.size(i) in a view: Gather → Unsqueeze."""
    return g.add("Unsqueeze", [g.add("Gather", [dims, const(i)], {"axis": 0}), const([0])])


def _target_concat_reshape(g: Graph, pick: Picker) -> list[Ref]:
    """x reshaped by a Concat of constants, of x.size(0) and constants (x.view(x.size(0), a
    * b)) and of Shape(x)[:k] and -1 (an older exporter's Slice); a second input like x by a
    Concat of its every size (y.view(y.size(0), y.size(1), y.size(2)), its Shape read by
    those Gathers alone). Where the batch is free, the sizes stay in the graph."""
    shape = [pick("batch"), integer(pick, 1, 3), integer(pick, 1, 3)]
    x, y = g.input(tuple(shape)), g.input(tuple(shape))
    cut = pick.draw(st.integers(1, 2))
    sliced = g.add("Slice", [g.add("Shape", [x]), const([0]), const([cut])])
    y_dims = g.add("Shape", [y])
    targets: list[tuple[Ref, list[Ref]]] = [
        (x, [const([-1]), const([shape[1]]), const([shape[2]])]),
        (x, [_size(g, g.add("Shape", [x]), 0), const([shape[1] * shape[2]])]),
        (x, [sliced, const([-1])]),
        (y, [_size(g, y_dims, i) for i in range(len(shape))])]
    return [ref for data, parts in targets
            for ref in _then_neg(g, g.add("Reshape", [data, g.add("Concat", parts,
                                                                  {"axis": 0})]))]


def _target_pad_pool(g: Graph, pick: Picker) -> list[Ref]:
    """Pad (constant 0) → AveragePool, which counts the zeros as the pool's own pads would
    (count_include_pad=1): one AveragePool with those pads."""
    x = g.input((pick("batch"), integer(pick, 1, 2), integer(pick, 2, 4), integer(pick, 2, 4)))
    pads = [0, 0, pick("pad"), pick("pad"), 0, 0, pick("pad"), pick("pad")]
    padded = g.add("Pad", [x, const(pads)], {"mode": "constant"})
    return [g.add("AveragePool", [padded], {"kernel_shape": [2, 2],
                                            "count_include_pad": pick("count_include_pad")})]


def _target_conv_transpose_bn(g: Graph, pick: Picker) -> list[Ref]:
    c, out, k = integer(pick, 1, 3), integer(pick, 1, 3), pick("kernel")
    x = g.input((pick("batch"), c, integer(pick, 1, 3), integer(pick, 1, 3)))
    inputs: list[Ref] = [x, weight([c, out, k, k])]
    if pick("bias"):
        inputs.append(weight([out], "bias"))
    y = g.add("ConvTranspose", inputs, {"kernel_shape": [k, k]})
    return [g.add("BatchNormalization", [y, weight([out], "scale"), weight([out], "beta"),
                                         weight([out], "mean"), weight([out], "variance")])]


def _target_gemm_reshape(g: Graph, pick: Picker) -> list[Ref]:
    """Gemm → Reshape that keeps the last axis → a constant Add or Mul."""
    f, units = integer(pick, 1, 4), integer(pick, 1, 4)
    x = g.input((pick("batch"), f))
    inputs: list[Ref] = [x, weight([units, f])]
    if pick("bias"):
        inputs.append(weight([units], "bias"))
    y = g.add("Reshape", [g.add("Gemm", inputs, {"transB": 1}), const([-1, 1, units])])
    op = pick("after_gemm")
    operand = weight([units] if pick("add_shape") == "last" else [], ROLE_OF[op])
    return [g.add(op, [y, operand])]


TARGETS = [_target_flatten, _target_reshape, _target_expand, _target_unit, _target_unsqueeze,
           _target_squeeze, _target_concat, _target_concat_reshape, _target_conv_transpose_bn,
           _target_gemm_reshape, _target_pad_pool]


def _draw_targets(pick: Picker):
    g = Graph(pick)
    outputs: list[Ref] = []
    each_block(pick, TARGET_DOMAINS, len(TARGETS), len(TARGETS),
               lambda pick, i: outputs.extend(TARGETS[i](g, pick)))
    return g.drawn(outputs)


register_pattern(
    "PassTargets", _draw_targets, TARGET_DOMAINS,
    "every motif at once, each on its own graph input (so that a pass which checks a shape "
    "sees it: onnxoptimizer infers none) and read by a next node: Flatten of a rank-2 "
    "tensor, Reshape to its own shape (with 0 or -1) or not, Expand to ones, its shape or "
    "more, an op by its unit or not, Unsqueeze → Unsqueeze → Squeeze, Squeeze → Squeeze → "
    "Unsqueeze, Concat → Concat along one axis or two, Reshape by a Concat of "
    "constants, of x.size(0) or of every size, and of Shape → Slice, ConvTranspose → "
    "BatchNormalization, Gemm → Reshape → constant Add or Mul, Pad → AveragePool. Every motif is in every "
    "graph, so the simplest example (every operand an initializer, each motif in the form "
    "its pass rewrites) reaches each pass in every profile",
    # its inputs differ in rank, and a graph input is batched only where its rank is the
    # first's (harness.sources.onnx.axes.onnx_batched): no configuration can free the batch
    free_batch=False)


SIZES_DOMAINS: dict[str, list[Any]] = {
    **TARGET_DOMAINS,
    # the sizes a Concat takes from Shape(x): Shape(x, end=k), or Shape → Slice (older
    # exporters)
    "sizes_part": ["shape_end", "slice"],
}


def _leading_sizes(g: Graph, pick: Picker, x: Ref, count: int) -> Ref:
    """x.shape[:count] as an exporter writes it: Shape(x, end=count) or Shape → Slice."""
    if pick("sizes_part") == "shape_end":
        return g.add("Shape", [x], {"end": count})
    return g.add("Slice", [g.add("Shape", [x]), const([0]), const([count])])


def _sizes_then_constants(g: Graph, pick: Picker, x: Ref, shape: list[int]) -> list[Ref]:
    """FusionConcatReshape's two guards on a Concat of one shape tensor and constants: each
    constant one element other than -1, and the sizes part one element (it becomes the -1 of
    a constant shape). x.view(*x.shape[:2], d, b // d) splits the last axis after a sizes
    part of two elements, which must stay in the graph (written as one -1 it would merge
    the batch into the next axis); x.view(x.size(0), 1, a * b) has a constant part of two
    elements, which must too (a fusion that reads one element of each constant drops one)."""
    _, a, b = shape
    part = pick.draw(st.sampled_from([d for d in range(1, b + 1) if b % d == 0]))
    split = g.add("Concat", [_leading_sizes(g, pick, x, 2), const([part]),
                             const([b // part])], {"axis": 0})
    wide = g.add("Concat", [_leading_sizes(g, pick, x, 1), const([1, a * b])], {"axis": 0})
    return [ref for target in (split, wide)
            for ref in _then_neg(g, g.add("Reshape", [x, target]))]


def _sizes_at_run_time(g: Graph, x: Ref) -> list[Ref]:
    """Two dimensions free at run time from the one free batch: the Gram matrix of x's
    samples, (n, n), and the same with a last axis of 1, (n, n, 1), reshaped to (n, n) by a
    Concat of x.size(0) and x.size(1) of each. Of the matrix those are all its sizes, so the
    Concat is Shape(matrix) itself (EliminationReshapeAs); of the (n, n, 1) they are not
    (the pass must count them against its rank). Each then summed over its last axis, so
    that every output's first dimension is the batch."""
    flat = g.add("Flatten", [x], {"axis": 1})
    gram = g.add("MatMul", [flat, g.add("Transpose", [flat], {"perm": [1, 0]})])
    column = g.add("Unsqueeze", [gram, const([2])])
    outputs = []
    for sizes_of in (gram, column):
        dims = g.add("Shape", [sizes_of])
        target = g.add("Concat", [_size(g, dims, 0), _size(g, dims, 1)], {"axis": 0})
        outputs.append(g.add("ReduceSum", [g.add("Reshape", [column, target]), const([1])],
                             {"keepdims": 0}))
    return outputs


def _draw_reshape_by_sizes(pick: Picker):
    g = Graph(pick)
    outputs = _target_concat_reshape(g, pick)
    x = g.input(g.shapes[0])  # one more, like the first: its batch is free with theirs
    outputs += _sizes_then_constants(g, pick, x, list(g.shapes[0]))
    outputs += _sizes_at_run_time(g, x)
    return g.drawn(outputs)


register_pattern(
    "ReshapeBySizes", _draw_reshape_by_sizes, SIZES_DOMAINS,
    "PassTargets' Reshapes by a Concat alone, on inputs whose batch can be free: of "
    "constants, of x.size(0) and constants, of every size of x, and of Shape → Slice and -1; "
    "x.view(*x.shape[:2], d, b // d) (the sizes part Shape(x, end=2) or Shape → Slice) and "
    "x.view(x.size(0), [1, a * b]) (a constant part of two elements); the Gram matrix of "
    "x's samples, (n, n), and its (n, n, 1) form, reshaped by a Concat of their first two "
    "sizes (every size of the one, not of the other). With a free batch the sizes stay in "
    "the graph, as torch.onnx writes x.view(x.size(0), ...) with dynamic axes, which is "
    "where a Concat of sizes can become a constant shape (onnxslim's FusionConcatReshape) "
    "or Shape itself (EliminationReshapeAs, which needs two sizes free at run time: the "
    "Gram matrix's)")


# -- the guards of the channel fusions: groups, and constants that are not per channel -------

CHANNEL_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2],
    "producer": ["ConvTranspose", "Conv"],
    # grouped first: the full and depthwise forms are ConvConst's and ConvTransposeConst's
    "group": ["grouped", "full", "depthwise"],
    "groups": [2, 3],
    "per_group": [1, 2],  # input channels a group
    "out_per_group": [2, 1, 3],
    "kernel": [1, 2],
    "bias": [False, True],
    "follow": ["BatchNormalization", "Mul", "Add"],
    # per channel ([C,1,1], [1,C,1,1]) first; then the twins a fusion must keep, as long as
    # the channels but along another axis: the last ([C], the width being C) or the rows
    # ([C,1], the height being C); one value per element ([C,H,W]); a scalar
    "const_shape": ["channel", "channel4", "last", "rows", "full", "scalar"],
    "const_side": ["right", "left"],
    "epsilon": [1e-5, 1e-3],
    "shared": [False, True],  # the producer's output also read by another node: kept
}


def _channel_block(g: Graph, pick: Picker, size: tuple[int, int] | None = None) -> list[Ref]:
    """A Conv or ConvTranspose (grouped, full or depthwise) → BatchNormalization or a
    constant Mul or Add, on its own graph input; ``size``: the output's height and width,
    where they are not drawn."""
    kind, form, k = pick("producer"), pick("group"), pick("kernel")
    if form == "grouped":
        group = pick("groups")
        c, out = group * pick("per_group"), group * pick("out_per_group")
    elif form == "depthwise":
        group = c = out = pick("groups")
    else:
        group, c, out = 1, integer(pick, 1, 3), integer(pick, 2, 3)
    op = pick("follow")
    const_shape = "channel" if op == "BatchNormalization" else pick("const_shape")
    # the output's height and width: the channel count along the axis the constant runs
    # on (so that it broadcasts there), else small
    grow = k - 1 if kind == "Conv" else 1 - k  # input size minus output size
    least = 1 + max(0, -grow)  # an input of one row at least
    h_out = out if const_shape == "rows" else size[0] if size else integer(pick, least, 3)
    w_out = out if const_shape == "last" else size[1] if size else integer(pick, least, 3)
    x = g.input((pick("batch"), c, h_out + grow, w_out + grow))
    w_shape = [out, c // group, k, k] if kind == "Conv" else [c, out // group, k, k]
    inputs: list[Ref] = [x, weight(w_shape)]
    # no bias on a grouped ConvTranspose: the source's reference reads it wrong
    # (onnx-reference-conv-transpose-group-bias), which would make the case an xfail whole
    if pick("bias") and (kind == "Conv" or group == 1):
        inputs.append(weight([out], "bias"))
    y = g.add(kind, inputs, {"group": group, "kernel_shape": [k, k]})
    shared = [g.add("Neg", [y])] if pick("shared") else []
    if op == "BatchNormalization":
        z = g.add(op, [y, weight([out], "scale"), weight([out], "beta"), weight([out], "mean"),
                       weight([out], "variance")], {"epsilon": pick("epsilon")})
    else:
        operand = weight({"channel": [out, 1, 1], "channel4": [1, out, 1, 1], "last": [out],
                          "rows": [out, 1], "full": [out, h_out, w_out],
                          "scalar": []}[const_shape], ROLE_OF[op])
        z = g.add(op, [operand, y] if pick("const_side") == "left" else [y, operand])
    return [z, *shared]


class _Fixed:
    """A Picker whose named attributes are fixed (a certain block's variant); the others,
    and every free draw, still drawn."""

    def __init__(self, pick: Picker, fixed: dict[str, Any]):
        self._pick, self._fixed = pick, fixed

    def __call__(self, attr: str, among=None) -> Any:
        return self._fixed[attr] if attr in self._fixed else self._pick(attr, among)

    def domain(self, attr: str) -> list[Any]:
        return self._pick.domain(attr)

    def draw(self, strategy: Any) -> Any:
        return self._pick.draw(strategy)


_UNSHARED = {"shared": False, "const_side": "right", "kernel": 2}
# Every variant a channel fusion rewrites or must refuse, in every example (not left to
# twelve draws): the per-channel Mul and Add it folds (with and without a bias), the scalar
# and per-element Mul it must keep (FusionConvMul's 1-D guard, which its ConvTranspose twin
# shares), BatchNormalization after a Conv and after a grouped ConvTranspose of two input
# channels a group (the grouped weight's reshape), a grouped ConvTranspose → per-channel Add (the bias as long as the
# channels times the group). Outputs 2 x 3 (not square, not 1: a wrong axis or an element
# constant read per channel changes numbers); two or three channels, every constant
# random per channel. Mul on the last axis or the rows is ChannelGuards' drawn blocks' alone:
# it is a known bug of FusionConvMul (onnxslim-conv-mul-fusion-ignores-broadcast), whose
# entry would claim every failure of the graph.
CERTAIN_CHANNEL_BLOCKS: list[dict[str, Any]] = [
    {"producer": "Conv", "group": "full", "follow": "Mul", "const_shape": "channel",
     "bias": True},
    {"producer": "Conv", "group": "full", "follow": "Mul", "const_shape": "scalar"},
    {"producer": "Conv", "group": "full", "follow": "Mul", "const_shape": "full"},
    {"producer": "Conv", "group": "full", "follow": "Add", "const_shape": "channel4",
     "bias": True},
    {"producer": "Conv", "group": "full", "follow": "BatchNormalization", "bias": True},
    {"producer": "ConvTranspose", "group": "grouped", "groups": 2, "per_group": 2,
     "out_per_group": 3, "follow": "BatchNormalization"},
    {"producer": "ConvTranspose", "group": "grouped", "groups": 2, "per_group": 1,
     "out_per_group": 2, "follow": "Add", "const_shape": "channel4"},
    {"producer": "ConvTranspose", "group": "full", "follow": "Mul", "const_shape": "channel",
     "bias": True},
]


def _draw_channel(pick: Picker):
    g = Graph(pick)
    outputs: list[Ref] = []
    for fixed in CERTAIN_CHANNEL_BLOCKS:
        outputs.extend(_channel_block(g, _Fixed(pick, {**_UNSHARED, **fixed}), size=(2, 3)))
    each_block(pick, CHANNEL_DOMAINS, 0, 2, lambda pick, _i: outputs.extend(
        _channel_block(g, pick)))
    return g.drawn(outputs)


register_pattern(
    "ChannelGuards", _draw_channel, CHANNEL_DOMAINS,
    "every fusion's variant at once (Conv → per-channel Mul with a bias, scalar Mul, "
    "per-element Mul, per-channel Add, BatchNormalization; grouped ConvTranspose of two "
    "input channels a group → BatchNormalization, grouped ConvTranspose → per-channel Add; "
    "ConvTranspose → per-channel Mul: outputs 2 x 3), then 0-2 drawn blocks, each on its own "
    "input: a ConvTranspose or Conv, grouped (2 or 3 groups of "
    "1-2 input and 1-3 output channels), full or depthwise, kernel 1 or 2, with or without "
    "bias → BatchNormalization (its epsilon) or a constant Mul or Add per channel, as "
    "long as the channels along the last axis or the rows (which a fusion must keep), per "
    "element or a scalar, on "
    "either side; the producer's output also read by another node, or not: the guards of "
    "the Conv/ConvTranspose + BatchNormalization, Mul and Add fusions",
    # inputs of several shapes: the batch is free only where each block's is
    free_batch=False)


# -- Slice → Slice: what a slice merge reads ---------------------------------------------------

SLICES_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 2, 4],
    "axes_count": [1, 2],
    "axis_sign": ["negative", "positive"],
    "step": [1, -1, 2, -2],
    # how a start and an end are written: as drawn, counted from the end, or past the end
    "bounds": ["plain", "negative", "clamped"],
    "overlap": [False, True],  # the second Slice over an axis the first sliced: kept
    "readers": ["one", "two", "neg"],  # one Slice, two Slices, or a Slice and a Neg (kept)
    "inputs": [5, 4],  # the steps left out (all 1): the merge needs all five inputs
}


def _bound(pick: Picker, index: int, dim: int, end: bool) -> int:
    """An absolute start or end (-1 for an end before the first element) as a form writes
    it: plain, counted from the end, or past the end (clamped)."""
    form = pick("bounds")
    if form == "negative" and 0 <= index < dim:
        return index - dim
    if form == "clamped" and end and index in (-1, dim):
        return -INT64_MAX if index == -1 else INT64_MAX
    if index == -1:  # through the first element: any end below -dim
        return -dim - 1
    return index


def _slice_args(pick: Picker, shape: list[int], axes: list[int]):
    """Starts, ends, written axes and steps of a non-empty Slice over ``axes``; the output
    shape."""
    starts, ends, written, steps, out = [], [], [], [], list(shape)
    for axis in axes:
        dim, step = shape[axis], pick("step")
        start = pick.draw(st.integers(0, dim - 1))
        end = (pick.draw(st.integers(start + 1, dim)) if step > 0
               else pick.draw(st.integers(-1, start - 1)))
        out[axis] = len(range(start, end, step))
        starts.append(_bound(pick, start, dim, False))
        ends.append(_bound(pick, end, dim, True))
        written.append(axis - len(shape) if pick("axis_sign") == "negative" else axis)
        steps.append(step)
    return starts, ends, written, steps, out


def _slice_node(g: Graph, pick: Picker, x: Ref, shape: list[int], axes: list[int]):
    starts, ends, written, steps, out = _slice_args(pick, shape, axes)
    count = 5 if any(s != 1 for s in steps) else pick("inputs")
    operands: list[Ref] = [x, const(starts), const(ends), const(written), const(steps)]
    return g.add("Slice", operands[:count]), out


def _draw_slices(pick: Picker):
    """Slice → Slice on a graph input of known shape, the batch never sliced (so that it
    can be free)."""
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 2, 4) for _ in range(rank - 1)]]
    x = g.input(tuple(shape))
    inner = list(range(1, rank))

    def axes_among(among: list[int]) -> list[int]:
        count = min(pick("axes_count"), len(among))
        return sorted(pick.draw(st.lists(st.sampled_from(among), min_size=count,
                                         max_size=count, unique=True)))

    first_axes = axes_among(inner)
    y, y_shape = _slice_node(g, pick, x, shape, first_axes)
    readers = pick("readers")
    outputs: list[Ref] = []
    for _ in range(2 if readers == "two" else 1):
        free = [a for a in inner if a not in first_axes]
        among = first_axes if pick("overlap") or not free else free
        outputs.append(_slice_node(g, pick, y, y_shape, axes_among(among))[0])
    if readers == "neg":
        outputs.append(g.add("Neg", [y]))
    return g.drawn(outputs)


register_pattern(
    "SliceSlice", _draw_slices, SLICES_DOMAINS,
    "Slice → Slice on an input of rank 2-4: each over 1-2 axes written positive or "
    "negative, steps 1, -1, 2 or -2, starts and ends as drawn, counted from the end or past "
    "it; the second over other axes (merged) or one the first sliced (kept); the first read "
    "by one Slice, two, or a Slice and a Neg (kept); steps of 1 left out: what "
    "onnxslim's EliminationSlice and onnxoptimizer's fuse_consecutive_slices merge")


# -- the guards of the merges: Reshape → Reshape, Unsqueeze → Unsqueeze, Concat → Concat ------

MERGE_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2],
    # the first Reshape: (n, a * b), (n, b, a) with the batch as 0, or (-1, a * b)
    "reshape_first": ["flat", "swap", "minus_one"],
    # the second: written out, with 0s that copy the first's output (which a merge onto
    # the input would copy from there instead: kept), or with allowzero=1 (no 0 written)
    "reshape_second": ["plain", "zeros", "allowzero"],
    "shared": [False, True],  # the first node also read by a Neg: kept
    "axis_sign": ["positive", "negative"],
    "unsqueeze_axes": [1, 2],  # how many axes each Unsqueeze inserts
    # the outer Concat along the inner's axis (written as drawn, or the other sign: the
    # same axis, another attribute) or along another one (kept)
    "concat_outer": ["same", "other_sign", "other"],
    "concat_readers": ["one", "two"],  # the inner Concat read by one Concat or two
    # the view between two Transposes: a Reshape that splits an axis or moves a 1 (the two
    # forms onnxslim moves), a Squeeze, an Unsqueeze
    "view": ["split", "squeeze", "unsqueeze", "move_one"],
}


def _written_axis(pick: Picker, axis: int, rank: int) -> int:
    return axis - rank if pick("axis_sign") == "negative" else axis


def _merge_reshapes(g: Graph, pick: Picker) -> list[Ref]:
    n, a, b = pick("batch"), integer(pick, 2, 3), integer(pick, 2, 3)
    x = g.input((n, a, b))
    first = pick("reshape_first")
    target, between = {"flat": ([0, a * b], [n, a * b]), "swap": ([0, b, a], [n, b, a]),
                       "minus_one": ([-1, a * b], [n, a * b])}[first]
    y = g.add("Reshape", [x, const(target)])
    second = pick("reshape_second")
    attrs = {}
    if second == "zeros":  # 0 copies the first's output dims: (n, b, a) from (n, b, a)
        shape = [0, 0, -1] if len(between) == 3 else [0, a, b]
    else:
        shape = [n, a, b]
        if second == "allowzero" and g.opset >= 14:
            attrs = {"allowzero": 1}
    z = g.add("Reshape", [y, const(shape)], attrs)
    return [z, *([g.add("Neg", [y])] if pick("shared") else [])]


def _insert_axes(pick: Picker, rank: int) -> list[int]:
    """1-2 distinct axes to insert into a tensor of ``rank``, never before the batch, each
    written positive or negative (counted from the output's rank)."""
    out = rank + pick("unsqueeze_axes")
    axes = pick.draw(st.lists(st.integers(1, out - 1), min_size=out - rank,
                              max_size=out - rank, unique=True))
    return [_written_axis(pick, axis, out) for axis in axes]


def _merge_unsqueezes(g: Graph, pick: Picker) -> list[Ref]:
    x = g.input((pick("batch"), integer(pick, 2, 3)))
    first = _insert_axes(pick, 2)
    y = g.add("Unsqueeze", [x, const(first)])
    z = g.add("Unsqueeze", [y, const(_insert_axes(pick, 2 + len(first)))])
    return [z, *([g.add("Neg", [y])] if pick("shared") else [])]


def _merge_concats(g: Graph, pick: Picker) -> list[Ref]:
    x = g.input((pick("batch"), integer(pick, 1, 3), integer(pick, 1, 3)))
    axis = pick.draw(st.integers(1, 2))
    inner_axis = _written_axis(pick, axis, 3)
    inner = g.add("Concat", [x, g.add("Neg", [x])], {"axis": inner_axis})
    outer = pick("concat_outer")
    outer_axis = {"same": inner_axis, "other": 3 - axis,
                  "other_sign": inner_axis + 3 if inner_axis < 0 else inner_axis - 3}[outer]
    # along another axis only the inner itself agrees with the inner's sizes
    other = inner if outer == "other" else x
    orders = [[inner, other], [other, inner]][:2 if pick("concat_readers") == "two" else 1]
    return [g.add("Concat", operands, {"axis": outer_axis}) for operands in orders]


def _merge_transpose_view(g: Graph, pick: Picker) -> list[Ref]:
    """Transpose → view → Transpose, which onnxslim's EliminationTransposeViewTranspose
    rewrites by moving the view before the first Transpose (then the two Transposes merge):
    the view a Reshape that splits the axis x's last became, or moves the 1 x's last
    became, a Squeeze of that 1, or an Unsqueeze; also read by a Neg or not (moved, the
    view's output is the moved Transpose's, which both readers read)."""
    view = pick("view")
    last = 1 if view in ("squeeze", "move_one") else 2 * integer(pick, 1, 2)
    x = g.input((pick("batch"), integer(pick, 2, 3), last))
    perm = pick.draw(st.sampled_from([[0, 2, 1], [2, 0, 1], [1, 2, 0], [2, 1, 0], [1, 0, 2]]))
    moved = [g.shapes[-1][p] for p in perm]
    where = perm.index(2)  # the axis x's last became
    if view == "split":
        target = [*moved[:where], 2, last // 2, *moved[where + 1:]]
        y = g.add("Reshape", [g.add("Transpose", [x], {"perm": perm}), const(target)])
    elif view == "move_one":
        target = [d for a, d in enumerate(moved) if a != where]
        target.insert(pick.draw(st.sampled_from([a for a in range(3) if a != where])), 1)
        y = g.add("Reshape", [g.add("Transpose", [x], {"perm": perm}), const(target)])
    elif view == "squeeze":
        target = [d for a, d in enumerate(moved) if a != where]
        axis = _written_axis(pick, where, 3)
        y = g.add("Squeeze", [g.add("Transpose", [x], {"perm": perm}), const([axis])])
    else:
        target = list(moved)
        axis = pick.draw(st.integers(0, 3))
        target.insert(axis, 1)
        y = g.add("Unsqueeze", [g.add("Transpose", [x], {"perm": perm}),
                                const([_written_axis(pick, axis, 4)])])
    z = g.add("Transpose", [y], {"perm": list(reversed(range(len(target))))})
    return [z, *([g.add("Neg", [y])] if pick("shared") else [])]


MERGES = [_merge_reshapes, _merge_unsqueezes, _merge_concats, _merge_transpose_view]


def _draw_merges(pick: Picker):
    g = Graph(pick)
    outputs: list[Ref] = []
    each_block(pick, MERGE_DOMAINS, len(MERGES), len(MERGES),
               lambda pick, i: outputs.extend(MERGES[i](g, pick)))
    return g.drawn(outputs)


register_pattern(
    "MergeGuards", _draw_merges, MERGE_DOMAINS,
    "four merges at once, each on its own input: Reshape → Reshape (the first to (n, a·b) "
    "or (n, b, a) with 0 or -1; the second written out, with 0s that copy the first's "
    "output, or allowzero=1); Unsqueeze → Unsqueeze of 1-2 axes each, positive or negative; "
    "Concat → Concat along the inner's axis written as drawn or with the other sign, or "
    "along another, read by one Concat or two; Transpose → view → Transpose (a Reshape "
    "that splits an axis or moves a 1, a Squeeze, an Unsqueeze); the first node (the view) "
    "also read by a Neg or not: the guards of onnxslim's EliminationReshape, "
    "EliminationUnsqueeze, EliminationConcat and EliminationTransposeViewTranspose and "
    "onnxoptimizer's fuse_consecutive_* passes",
    free_batch=False)


# -- inner tensors that are graph outputs too -------------------------------------------------

TAP_DOMAINS: dict[str, list[Any]] = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 2, 4],
    # twin()'s ops that keep the rank and the dtype, so that any tensor of the chain can follow
    "op": ["Relu", "Transpose", "Softmax", "LeakyRelu", "Add", "Slice", "Sigmoid"],
    "length": [2, 3],
    "tapped": ["first", "every", "last"],  # which inner tensors are graph outputs too
    "fanout": [1, 2],  # the first tapped tensor read by one node of the chain, or a second too
    "order": ["taps_first", "chain_first"],  # where the tapped tensors sit among the outputs
    "alpha": [0.1, 0.2],
}


def _draw_taps(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    ref: Ref = g.input(tuple(shape))
    chain = []
    for _ in range(pick("length")):
        ref, shape = twin(g, pick, ref, shape, pick("op"), integer(pick, 0, 1))
        chain.append(ref)
    inner = chain[:-1]
    tapped = {"first": inner[:1], "every": inner, "last": inner[-1:]}[pick("tapped")]
    ends = [chain[-1]]
    if pick("fanout") == 2:
        ends.append(g.add("Neg", [tapped[0]]))
    return g.drawn([*tapped, *ends] if pick("order") == "taps_first" else [*ends, *tapped])


register_pattern(
    "OutputTaps", _draw_taps, TAP_DOMAINS,
    "a chain of two or three ops whose inner tensors are graph outputs too, read by the next "
    "node (and by a second one): what a fusion must leave in place and a converter must keep "
    "after its last reader")
