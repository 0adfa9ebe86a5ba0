"""Graphs as exporters write them: drawn multi-node ONNX graphs (family ``graphs``).

Each kind draws one pattern that real exporters emit and the Keras path never does:
MATLAB's ``exportONNXNetwork`` (Conv → BatchNormalization → Relu, a fully connected layer
as a whole-image Conv, mean subtraction as ``Sub`` of a ``[1, C, 1, 1]`` constant, the
subgraph that computes 'same' padding at run time), ``torch.onnx`` (pixel shuffle as
Reshape/Transpose/Reshape, Gemm chains ending in LogSoftmax, Resize by scales or by sizes
computed from ``Shape``, reflection padding), and the shape plumbing of every exporter
(Split/Concat, Gather/Slice/Reshape/Transpose chains).

A graph's spec holds ``{"opset": N, "nodes": [{"kind": OP, "attrs": {...}, "inputs":
[ref, ...]}, ...], "graph_outputs": [ref, ...]}``: ``kind`` is the ONNX op type and
``attrs`` its attributes under their ONNX names (with the graph's ``opset``, and
``outputs``: how many outputs it has), as an op kind's attrs hold them, so that a known
issue of an op kind matches the node inside a graph too
(``harness.core.spec.nested_layers``). A ref is ``"input_<i>"`` (a graph input), ``j`` (node j's
output), ``[j, k]`` (node j's output k), ``""`` (an omitted optional input; ``None`` is
read alike),
``{"const": values, "dtype": ...}`` or ``{"weight": shape, "role": ...}`` (initializers;
weights are filled from the seed). Node *j* is named ``n<jj>_<op type>`` in the model.
A graph-valued attribute (an If's ``then_branch``) is ``{"graph": {"nodes": [...],
"graph_outputs": [ref, ...], "dtypes": [...]}}``: a node list of its own, whose refs name its
own nodes, the graph inputs, its own constants and weights (the subgraph's initializers), and
``{"outer": ref}``, a tensor of the enclosing graph that it reads by name, as exporters write
branches; its nodes are named after the node and attribute that hold them.

Every kind draws its blocks as Hypothesis draws a list's elements (``each_block``: fewest
first, any one of them can be dropped) and its variants with the fewest nodes first, so that
a failing graph shrinks to the fewest nodes that still fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.onnx.build import (
    GRAPH_OUTPUTS,
    INPUT_DTYPES,
    NODES,
    OPSET,
    OUTPUTS,
    GraphBuilder,
)
from harness.sources.onnx.forms import form_domains
from harness.sources.onnx.op import OPSETS, SOURCE, in_forms

FAMILY = "graphs"
FLOAT = "float32"
INT64 = "int64"
# An omitted optional input, as ONNX writes it (an empty name); unlike null, TOML can hold
# it, so that a known issue's minimal spec can be written down.
OMITTED = ""
# torch.onnx writes an open slice end (x[:, 1:]) as the largest int64.
INT64_MAX = 2**63 - 1
# A graph-valued attribute (an If's branch) is written {"graph": {"nodes": [...],
# "graph_outputs": [...], "dtypes": [...]}}; inside it, {"outer": ref} names a tensor of the
# enclosing graph.
SUBGRAPH = "graph"
OUTER = "outer"
DTYPES = "dtypes"

Shape = tuple[int, ...]
Ref = Any


# -- building ---------------------------------------------------------------------------------

def build_graph(attrs: dict[str, Any], shapes, dtype: str):
    """The ModelProto of a graph spec (see the module docstring for its form)."""
    builder = GraphBuilder(dtype)
    input_dtypes = list(attrs.get(INPUT_DTYPES) or [])
    names = {}
    for i, shape in enumerate(shapes):
        names[f"input_{i}"] = builder.add_input(
            shape, input_dtypes[i] if i < len(input_dtypes) else None)
    resolve = _scope(builder, attrs[NODES], names, None)
    outputs = [resolve(ref, f"graph output {k}") for k, ref in enumerate(attrs[GRAPH_OUTPUTS])]
    return builder.model(outputs, int(attrs[OPSET]))


Resolve = Callable[[Ref, str], str]


def _scope(builder: GraphBuilder, nodes: list[dict[str, Any]], names: dict[str, str],
           outer: Resolve | None) -> Resolve:
    """Adds ``nodes`` to ``builder``; the function that names the tensor a ref means in
    their graph. ``outer`` resolves ``{"outer": ref}``, a ref of the enclosing graph that a
    subgraph reads by name (None in the main graph)."""
    produced: list[list[str]] = []

    def resolve(ref: Ref, where: str) -> str:
        if ref is None or ref == OMITTED:
            return ""
        if isinstance(ref, dict) and OUTER in ref:
            if outer is None:
                raise ValueError(f"{where}: {ref!r}: the main graph has no enclosing graph")
            return outer(ref[OUTER], where)
        if isinstance(ref, str):
            if ref not in names:
                raise ValueError(f"{where}: no graph input {ref!r}")
            return names[ref]
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = [ref, 0]
        if (isinstance(ref, list) and len(ref) == 2
                and all(isinstance(r, int) and not isinstance(r, bool) for r in ref)):
            node, output = ref
            if not 0 <= node < len(produced) or not 0 <= output < len(produced[node]):
                raise ValueError(f"{where}: {ref!r} names no earlier node's output")
            return produced[node][output]
        if isinstance(ref, dict) and "const" in ref:
            return builder.add_constant(ref["const"], ref.get("dtype", builder.dtype))
        if isinstance(ref, dict) and "weight" in ref:
            return builder.add_weight(ref.get("role", "kernel"), ref["weight"],
                                      ref.get("dtype"))
        raise ValueError(f"{where}: {ref!r} is not a graph input, a node output, '' (omitted), "
                         "{'outer': ref}, {'const': ...} or {'weight': shape}")

    for j, node in enumerate(nodes):
        node_attrs = dict(node.get("attrs") or {})
        where = f"{builder.prefix}node {j} ({node['kind']})"
        inputs = [resolve(ref, f"{where} input {k}") for k, ref in enumerate(node.get("inputs", []))]
        name = builder.next_name(node["kind"])
        for key, value in node_attrs.items():
            if isinstance(value, dict) and SUBGRAPH in value:
                node_attrs[key] = _subgraph(builder, f"{name}_{key}", value[SUBGRAPH], names,
                                            resolve)
        produced.append(builder.add_node(node["kind"], inputs, node_attrs,
                                         outputs=int(node_attrs.get(OUTPUTS, 1)), name=name))
    return resolve


def _subgraph(builder: GraphBuilder, name: str, spec: dict[str, Any], names: dict[str, str],
              outer: Resolve):
    """A graph-valued attribute, ``{"nodes": [...], "graph_outputs": [ref, ...],
    "dtypes": [...]}``: its refs are its own nodes', the graph inputs', ``{"outer": ref}``
    (the enclosing graph's) and its own constants and weights (its initializers); its
    outputs of ``dtypes`` (the case's dtype where left out)."""
    inner = GraphBuilder(builder.dtype, prefix=f"{name}_")
    resolve = _scope(inner, spec[NODES], names, outer)
    outputs = [resolve(ref, f"{name} output {k}") for k, ref in enumerate(spec[GRAPH_OUTPUTS])]
    return inner.subgraph(outputs, name, spec.get(DTYPES))


def node_name(index: int, op_type: str) -> str:
    """The name node ``index`` has in the built model (GraphBuilder's naming)."""
    return f"n{index:02d}_{op_type.lower()}"


# -- drawing ----------------------------------------------------------------------------------

class Graph:
    """What a kind's draw builds up: graph inputs and nodes, in order."""

    def __init__(self, pick: Picker):
        self.pick = pick
        self.opset = pick(OPSET)
        self.shapes: list[Shape] = []
        self.nodes: list[dict[str, Any]] = []

    def input(self, shape: Shape) -> str:
        self.shapes.append(tuple(shape))
        return f"input_{len(self.shapes) - 1}"

    def add(self, op_type: str, inputs: list[Ref], attrs: dict[str, Any] | None = None,
            outputs: int = 1) -> Ref:
        """A node; its ref (a list of refs for several outputs)."""
        # The graph's opset in every node, as an op kind's attrs carry it: a known issue of
        # an op at some opsets then matches the node inside a graph too.
        node_attrs = {OPSET: self.opset, **(attrs or {})}
        if outputs > 1:
            node_attrs[OUTPUTS] = outputs
        inputs = [OMITTED if ref is None else ref for ref in inputs]
        self.nodes.append({"kind": op_type, "attrs": node_attrs, "inputs": inputs})
        index = len(self.nodes) - 1
        return index if outputs == 1 else [[index, k] for k in range(outputs)]

    def drawn(self, graph_outputs: list[Ref], dtype: str = FLOAT):
        return ({OPSET: self.opset, NODES: self.nodes, GRAPH_OUTPUTS: list(graph_outputs)},
                list(self.shapes), dtype)


def const(values, dtype: str = INT64) -> dict[str, Any]:
    return {"const": values, "dtype": dtype}


def weight(shape, role: str = "kernel") -> dict[str, Any]:
    return {"weight": [int(d) for d in shape], "role": role}


def each_block(pick: Picker, domains: dict[str, list[Any]], low: int, high: int,
               block: Callable[[Picker, int], None]) -> None:
    """Draws ``low`` to ``high`` blocks, as Hypothesis draws a list's elements: each block's
    choices in one span, led by whether it follows (the first ``low`` always do), so that
    shrinking drops any block, not only the last (a failure in the second block shrinks to
    one block that holds it), and fewer blocks first. ``block(pick, index)`` draws one with
    the Picker of its span (over the kind's ``domains``)."""
    for index in range(high):
        @st.composite
        def one(draw, index=index) -> bool:
            if not draw(st.booleans()) and index >= low:
                return False
            block(Picker(draw, domains), index)
            return True

        if not pick.draw(one()):
            return


def integer(pick: Picker, low: int, high: int) -> int:
    return pick.draw(st.integers(low, max(low, high)))


def image(pick: Picker, min_hw: int = 1, max_hw: int = 6) -> Shape:
    """An NCHW shape: batch and channels from the kind's domains, sizes shrinking to
    ``min_hw``."""
    return (pick("batch"), pick("channels"), integer(pick, min_hw, max_hw),
            integer(pick, min_hw, max_hw))


def conv(g: Graph, x: Ref, shape: Shape, out_channels: int, kernel, *, strides=(1, 1),
         pads=(0, 0, 0, 0), dilations=(1, 1), group: int = 1,
         bias: bool = True) -> tuple[Ref, Shape]:
    """A 2-D Conv with every attribute written (as torch.onnx and MATLAB write them) and its
    weights as initializers; its ref and output shape."""
    n, c, h, w = shape
    inputs = [x, weight([out_channels, c // group, *kernel])]
    if bias:
        inputs.append(weight([out_channels], "bias"))
    ref = g.add("Conv", inputs, {"dilations": list(dilations), "group": group,
                                 "kernel_shape": list(kernel), "pads": list(pads),
                                 "strides": list(strides)})
    out = [(d + pads[a] + pads[a + 2] - dilations[a] * (kernel[a] - 1) - 1) // strides[a] + 1
           for a, d in enumerate((h, w))]
    return ref, (n, out_channels, *out)


def gemm(g: Graph, pick: Picker, x: Ref, features: int, units: int) -> Ref:
    """A Gemm of a [N, features] tensor with initializer weights: transB=1 as torch.onnx
    writes nn.Linear, or B as [features, units]."""
    trans_b = pick("transB")
    inputs = [x, weight([units, features] if trans_b else [features, units])]
    if pick("gemm_bias"):
        inputs.append(weight([units], "bias"))
    attrs = {"alpha": pick("gemm_alpha"), "beta": pick("gemm_beta"), "transB": trans_b}
    return g.add("Gemm", inputs, attrs)


ACTIVATION_SINCE = {"HardSwish": 14}
ACTIVATION_DOMAINS: dict[str, list[Any]] = {
    "activation": ["Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish"],
    "alpha": [0.01, 0.2, 0.1],
    "clip": [[0.0, 6.0], [-1.0, 1.0]],
}
GEMM_DOMAINS: dict[str, list[Any]] = {
    "transB": [1, 0],
    "gemm_bias": [True, False],
    "gemm_alpha": [1.0, 0.5],
    "gemm_beta": [1.0, 2.0],
    "units": [1, 2, 3, 4, 5],
}
IMAGE_DOMAINS: dict[str, list[Any]] = {OPSET: OPSETS, "batch": [1, 2],
                                       "channels": [1, 2, 3, 4]}


def activation(g: Graph, pick: Picker, x: Ref) -> Ref:
    """One activation as exporters write it (Clip's bounds as inputs from opset 11)."""
    name = pick("activation", among=[a for a in pick.domain("activation")
                                     if g.opset >= ACTIVATION_SINCE.get(a, 0)])
    if name == "LeakyRelu":
        return g.add("LeakyRelu", [x], {"alpha": pick("alpha")})
    if name == "Clip":  # torch's ReLU6 and Hardtanh
        low, high = pick("clip")
        return g.add("Clip", [x, const(low, FLOAT), const(high, FLOAT)])
    return g.add(name, [x])


def register_graph(name: str, draw, domains: dict[str, list[Any]], doc: str,
                   free_batch: bool = True, family: str = FAMILY) -> LayerKind:
    """A drawn graph: built in float32; its batch free where its configuration lets it,
    unless ``free_batch`` is False (as ``op_kind``'s); drawn in every form (``op_kind``'s)."""
    domains = {**domains, **form_domains(None, domains.get(OPSET, OPSETS))}
    return register(LayerKind(name=name, family=family, domains=domains,
                              draw=in_forms(draw, domains), build_model=build_graph, doc=doc,
                              source=SOURCE, dtypes=(),
                              free_dims=None if free_batch else ()))


# -- Conv → BatchNormalization → activation ---------------------------------------------------

CONV_BN_DOMAINS = {
    **IMAGE_DOMAINS, **ACTIVATION_DOMAINS,
    "kernel": [1, 3],
    "padding": ["same", "valid"],
    "strides": [1, 2],
    "group": ["full", "depthwise"],
    "bias": [False, True],  # torch.onnx: a Conv before a BatchNormalization has no bias
    "epsilon": [1e-5, 1e-3, 0.1],
    "momentum": [0.9, 0.99],
    "out_channels": [1, 2, 3, 4],
}


def conv_block(g: Graph, pick: Picker, x: Ref, shape: Shape) -> tuple[Ref, Shape]:
    """A Conv whose kernel fits: 'same' (symmetric pads of half the kernel) or 'valid'."""
    _, c, h, w = shape
    kernel = pick("kernel")
    padding = pick("padding")
    if padding == "valid":
        kernels = (min(kernel, h), min(kernel, w))
        pads = (0, 0, 0, 0)
    else:
        kernels = (kernel, kernel)
        pads = (kernel // 2, kernel // 2, kernel // 2, kernel // 2)
    strides = pick("strides")
    depthwise = pick("group") == "depthwise"
    out_channels = pick("out_channels")
    if depthwise and c > 1:  # a channel multiplier of 1 or 2
        return conv(g, x, shape, c * min(out_channels, 2), kernels, strides=(strides, strides),
                    pads=pads, group=c, bias=pick("bias"))
    return conv(g, x, shape, out_channels, kernels, strides=(strides, strides), pads=pads,
                bias=pick("bias"))


def _conv_bn_act(pick: Picker, g: Graph, x: Ref, shape: Shape) -> tuple[Ref, Shape]:
    x, shape = conv_block(g, pick, x, shape)
    c = shape[1]
    x = g.add("BatchNormalization",
              [x, weight([c], "scale"), weight([c], "beta"), weight([c], "mean"),
               weight([c], "variance")],
              {"epsilon": pick("epsilon"), "momentum": pick("momentum")})
    return activation(g, pick, x), shape


def _draw_conv_bn_act(pick: Picker):
    g = Graph(pick)
    shape = image(pick)
    at: list[Any] = [g.input(shape), shape]

    def block(pick: Picker, _index: int) -> None:
        at[:] = _conv_bn_act(pick, g, *at)

    each_block(pick, CONV_BN_DOMAINS, 1, 3, block)
    return g.drawn([at[0]])


register_graph("ConvBnRelu", _draw_conv_bn_act, CONV_BN_DOMAINS,
               "1-3 blocks of Conv → BatchNormalization → activation (Relu first; LeakyRelu, "
               "Clip, Sigmoid, HardSwish), as MATLAB and torch.onnx write conv nets")


# -- Flatten → Gemm ---------------------------------------------------------------------------

FLATTEN_GEMM_DOMAINS = {**IMAGE_DOMAINS, **GEMM_DOMAINS, "axis": [1, 2, 3, 0],
                        "between": ["none", "Relu"]}


def _draw_flatten_gemm(pick: Picker):
    g = Graph(pick)
    shape = image(pick, 1, 4)
    x = g.input(shape)
    axis = pick("axis")
    at: list[Any] = [g.add("Flatten", [x], {"axis": axis}), math.prod(shape[axis:])]
    each_block(pick, FLATTEN_GEMM_DOMAINS, 1, 2, lambda pick, i: gemm_block(g, pick, at, i))
    return g.drawn([at[0]])


def gemm_block(g: Graph, pick: Picker, at: list[Any], index: int) -> None:
    """A Gemm (after the first, a Relu or nothing before it) on ``at`` = [ref, features]."""
    x, features = at
    if index and pick("between") == "Relu":
        x = g.add("Relu", [x])
    units = pick("units")
    at[:] = [gemm(g, pick, x, features, units), units]


register_graph("FlattenGemm", _draw_flatten_gemm, FLATTEN_GEMM_DOMAINS,
               "Flatten (any axis) → 1-2 Gemm with initializer weights (transB=1 as torch "
               "writes nn.Linear, or B as [K, N]), a classifier head")


# -- global pooling heads ---------------------------------------------------------------------

GLOBAL_POOL_DOMAINS = {
    **IMAGE_DOMAINS, **GEMM_DOMAINS,
    "pool": ["GlobalAveragePool", "GlobalMaxPool", "ReduceMean"],
    "flatten": ["Flatten", "Reshape", "Squeeze"],
    "head": ["none", "Gemm", "Gemm+Softmax"],
}


def _draw_global_pool(pick: Picker):
    head = pick("head")  # the node count first: 2, 3 or 4 nodes
    g = Graph(pick)
    shape = image(pick)
    n, c = shape[:2]
    x = g.input(shape)
    pool = pick("pool")
    if pool == "ReduceMean":  # tf2onnx and torch's mean over H, W
        if g.opset >= 18:
            x = g.add("ReduceMean", [x, const([2, 3])], {"keepdims": 1})
        else:
            x = g.add("ReduceMean", [x], {"axes": [2, 3], "keepdims": 1})
    else:
        x = g.add(pool, [x])
    flatten = pick("flatten")
    if flatten == "Flatten":
        x = g.add("Flatten", [x], {"axis": 1})
    elif flatten == "Reshape":  # torch: x.view(x.size(0), -1)
        x = g.add("Reshape", [x, const([n, -1])])
    else:
        x = g.add("Squeeze", [x, const([2, 3])])
    if head != "none":
        x = gemm(g, pick, x, c, pick("units"))
    if head == "Gemm+Softmax":
        x = g.add("Softmax", [x], {"axis": 1})
    return g.drawn([x])


register_graph("GlobalPoolHead", _draw_global_pool, GLOBAL_POOL_DOMAINS,
               "GlobalAveragePool, GlobalMaxPool or ReduceMean over H, W → Flatten, Reshape "
               "or Squeeze → optional Gemm → optional Softmax: a classifier head")


# -- Resize -----------------------------------------------------------------------------------

RESIZE_DOMAINS = {
    **IMAGE_DOMAINS,
    "form": ["scales", "sizes", "runtime_sizes"],
    "mode": ["nearest", "linear", "cubic"],
    "coordinate_transformation_mode": ["half_pixel", "asymmetric", "pytorch_half_pixel",
                                       "align_corners", "tf_crop_and_resize",
                                       "half_pixel_symmetric"],
    "nearest_mode": ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"],
    "cubic_coeff_a": [-0.75, -0.5],
    "exclude_outside": [0, 1],
    "extrapolation_value": [0.0, -1.0],
    "antialias": [0, 1],
    "keep_aspect_ratio_policy": ["stretch", "not_larger", "not_smaller"],
    "axes": [None, [2, 3]],
    "scale": [2.0, 0.5, 1.5, 3.0, 1.0],
    "roi": [[0.0, 0.0, 1.0, 1.0], [0.25, 0.0, 0.75, 1.0], [0.1, 0.2, 0.9, 0.6]],
}
RESIZE_SINCE = {"half_pixel_symmetric": 19, "antialias": 18, "keep_aspect_ratio_policy": 18,
                "axes": 18}


def _draw_resize(pick: Picker):
    form = pick("form")  # 2, 2 or 4 nodes
    g = Graph(pick)
    shape = image(pick, 1, 5)
    x = g.input(shape)
    # A 1x1 Conv first, as a segmentation head upsamples its logits.
    x, shape = conv(g, x, shape, pick("channels"), (1, 1))
    n, c, h, w = shape
    modes = [m for m in pick.domain("coordinate_transformation_mode")
             if g.opset >= RESIZE_SINCE.get(m, 0)]
    attrs: dict[str, Any] = {"coordinate_transformation_mode":
                             pick("coordinate_transformation_mode", among=modes),
                             "mode": pick("mode")}
    if attrs["mode"] == "nearest":
        attrs["nearest_mode"] = pick("nearest_mode")
    if attrs["mode"] == "cubic":
        attrs["cubic_coeff_a"] = pick("cubic_coeff_a")
        attrs["exclude_outside"] = pick("exclude_outside")
    new = g.opset >= 18
    # torch.onnx computes all four sizes at run time; a constant resize may name its axes
    axes = pick("axes") if new and form != "runtime_sizes" else None
    if new and attrs["mode"] != "nearest":
        attrs["antialias"] = pick("antialias")
    if axes is not None:
        attrs["axes"] = axes
    spatial = axes is not None
    roi: Ref = None
    if attrs["coordinate_transformation_mode"] == "tf_crop_and_resize":
        attrs["extrapolation_value"] = pick("extrapolation_value")
        box = pick("roi")  # start H, start W, end H, end W
        roi = const(box if spatial else [0.0, 0.0, box[0], box[1], 1.0, 1.0, box[2], box[3]],
                    FLOAT)
    if form == "scales":
        scales = [pick("scale", among=[s for s in pick.domain("scale") if math.floor(d * s) >= 1])
                  for d in (h, w)]
        x = g.add("Resize", [x, roi, const(scales if spatial else [1.0, 1.0, *scales], FLOAT)],
                  attrs)
        return g.drawn([x])
    sizes = [integer(pick, 1, 8), integer(pick, 1, 8)]
    if axes is not None:  # over all four axes a policy would shrink the batch too
        attrs["keep_aspect_ratio_policy"] = pick("keep_aspect_ratio_policy")
    if form == "sizes":
        x = g.add("Resize", [x, roi, None, const(sizes if spatial else [n, c, *sizes])], attrs)
        return g.drawn([x])
    # torch.onnx with a dynamic batch: the sizes concatenate Shape(x)[:2] with the new H, W.
    if spatial:
        sizes_ref: Ref = const(sizes)
    else:
        leading = g.add("Slice", [g.add("Shape", [x]), const([0]), const([2]), const([0])])
        sizes_ref = g.add("Concat", [leading, const(sizes)], {"axis": 0})
    x = g.add("Resize", [x, roi, None, sizes_ref], attrs)
    return g.drawn([x])


register_graph("ResizeGraph", _draw_resize, RESIZE_DOMAINS,
               "1x1 Conv → Resize by constant scales, constant sizes, or sizes computed from "
               "Shape → Slice → Concat (torch.onnx, dynamic batch); every mode and coordinate "
               "transformation mode")


# -- Pad → Conv -------------------------------------------------------------------------------

PAD_DOMAINS = {
    **IMAGE_DOMAINS,
    "mode": ["constant", "reflect", "edge", "wrap"],
    "pad": [0, 1, 2],
    "constant_value": [None, 0.0, 1.5],
    "axes": [None, [2, 3]],
    "kernel": [1, 3],
}
PAD_SINCE = {"wrap": 19}


def _draw_pad(pick: Picker):
    g = Graph(pick)
    shape = image(pick, 1, 5)
    _, c, h, w = shape
    x = g.input(shape)
    mode = pick("mode", among=[m for m in pick.domain("mode") if g.opset >= PAD_SINCE.get(m, 0)])
    # reflect (and wrap) read inside the input: pads below the size (onnxruntime's rule)
    limits = (h, w) if mode in ("reflect", "wrap") else (99, 99)
    pads = [pick("pad", among=[p for p in pick.domain("pad") if p < limits[i % 2]])
            for i in range(4)]
    axes = pick("axes") if g.opset >= 18 else None
    inputs: list[Ref] = [x, const(pads if axes else [0, 0, pads[0], pads[1], 0, 0, pads[2],
                                                     pads[3]])]
    if mode == "constant":
        value = pick("constant_value")
        if value is not None or axes:
            inputs.append(None if value is None else const(value, FLOAT))
    if axes:
        inputs += [None] * (3 - len(inputs)) + [const(axes)]
    x = g.add("Pad", inputs, {"mode": mode})
    padded = (shape[0], c, h + pads[0] + pads[2], w + pads[1] + pads[3])
    kernel = pick("kernel")
    x, _ = conv(g, x, padded, pick("channels"), (min(kernel, padded[2]), min(kernel, padded[3])))
    return g.drawn([x])


register_graph("PadConv", _draw_pad, PAD_DOMAINS,
               "Pad (constant with or without a value, reflect, edge, wrap; pads as an input, "
               "axes from opset 18) → Conv without padding, as torch.onnx writes a padded conv")


# -- Pad → MaxPool / AveragePool --------------------------------------------------------------

PAD_POOL_DOMAINS = {
    **IMAGE_DOMAINS,
    "pool": ["MaxPool", "AveragePool"],
    "mode": ["constant", "reflect", "edge"],
    "pad": [0, 1, 2],
    "constant_value": [None, 0.0, -2.0],
    "kernel": [1, 2, 3],
    "stride": [1, 2],
}


def _draw_pad_pool(pick: Picker):
    g = Graph(pick)
    shape = image(pick, 1, 5)
    _, c, h, w = shape
    x = g.input(shape)
    mode = pick("mode")
    limits = (h, w) if mode == "reflect" else (99, 99)  # reflect reads inside the input
    pads = [pick("pad", among=[p for p in pick.domain("pad") if p < limits[i % 2]])
            for i in range(4)]
    inputs: list[Ref] = [x, const([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]])]
    if mode == "constant" and (value := pick("constant_value")) is not None:
        inputs.append(const(value, FLOAT))
    x = g.add("Pad", inputs, {"mode": mode})
    padded = (h + pads[0] + pads[2], w + pads[1] + pads[3])
    kernel = pick("kernel")
    stride = pick("stride")
    x = g.add(pick("pool"), [x], {"kernel_shape": [min(kernel, d) for d in padded],
                                  "strides": [stride, stride]})
    return g.drawn([x])


register_graph("PadPool", _draw_pad_pool, PAD_POOL_DOMAINS,
               "Pad (constant with or without a value, reflect, edge) → MaxPool or AveragePool "
               "without pads of its own, as Keras' ZeroPadding2D > MaxPooling2D (ResNet's "
               "stem) reaches ONNX")


# -- MATLAB's 'same' padding computed at run time ---------------------------------------------

SAME_PAD_DOMAINS = {
    **IMAGE_DOMAINS,
    "kernel": [3, 2, 1, 5],
    "strides": [1, 2, 3],
    "dilations": [1, 2],
    "end": ["Ceil", "Sub"],
}


def _draw_same_pad(pick: Picker):
    g = Graph(pick)
    shape = image(pick, 1, 7)
    _, c, h, w = shape
    x = g.input(shape)
    kernel = (pick("kernel"), pick("kernel"))
    strides = (pick("strides"), pick("strides"))
    dilations = (pick("dilations"), pick("dilations"))
    effective = [float((k - 1) * d + 1) for k, d in zip(kernel, dilations)]
    # total = max((ceil(in / s) - 1) * s + effective - in, 0); begin = floor(total / 2),
    # end = ceil(total / 2), all in float as MATLAB writes it, the sizes split off Shape(x).
    sizes = g.add("Cast", [g.add("Shape", [x])], {"to": 1})
    split_sizes = [2, 2]
    if g.opset >= 13:
        _, spatial = g.add("Split", [sizes, const(split_sizes)], {"axis": 0}, outputs=2)
    else:  # pragma: no cover - the graph opsets start at 13
        _, spatial = g.add("Split", [sizes], {"axis": 0, "split": split_sizes}, outputs=2)
    stride_values = const([float(s) for s in strides], FLOAT)
    out = g.add("Ceil", [g.add("Div", [spatial, stride_values])])
    span = g.add("Add", [g.add("Mul", [g.add("Sub", [out, const(1.0, FLOAT)]), stride_values]),
                         const(effective, FLOAT)])
    total = g.add("Max", [g.add("Sub", [span, spatial]), const([0.0, 0.0], FLOAT)])
    half = g.add("Div", [total, const(2.0, FLOAT)])
    begin = g.add("Floor", [half])
    end = g.add("Ceil", [half]) if pick("end") == "Ceil" else g.add("Sub", [total, begin])
    zeros = const([0.0, 0.0], FLOAT)
    pads = g.add("Cast", [g.add("Concat", [zeros, begin, zeros, end], {"axis": 0})], {"to": 7})
    x = g.add("Pad", [x, pads], {"mode": "constant"})
    padded = []
    for size, k, s in zip((h, w), effective, strides):
        out_size = -(-size // s)
        total_pad = max((out_size - 1) * s + int(k) - size, 0)
        padded.append(size + total_pad)
    x, _ = conv(g, x, (shape[0], c, *padded), pick("channels"), kernel, strides=strides,
                dilations=dilations)
    return g.drawn([x])


register_graph("SamePadConv", _draw_same_pad, SAME_PAD_DOMAINS,
               "MATLAB's 'same' padding computed at run time: Shape → Cast → Split (explicit "
               "sizes) → Div → Ceil → Sub/Mul/Add/Max → Div → Floor/Ceil → Concat → Cast → Pad "
               "→ Conv", free_batch=False)  # no drawn case can have a free batch (measured)


# -- Split → Concat ---------------------------------------------------------------------------

SPLIT_DOMAINS = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [2, 3, 4],
    "parts": [2, 3],
    "split_form": ["sizes", "equal"],
    "branch": ["none", "Relu", "Sigmoid", "Mul"],
    "order": ["same", "reversed"],
}


def _draw_split_concat(pick: Picker):
    parts = pick("parts")
    g = Graph(pick)
    rank = pick("rank")
    axis = pick.draw(st.integers(1, rank - 1))
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    shape[axis] = integer(pick, parts, 6)
    x = g.input(tuple(shape))
    form = pick("split_form", among=pick.domain("split_form")
                if shape[axis] % parts == 0 or g.opset >= 18 else ["sizes"])
    if form == "sizes":
        cuts = sorted(pick.draw(st.lists(st.integers(1, shape[axis] - 1), min_size=parts - 1,
                                         max_size=parts - 1, unique=True)))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, shape[axis]])]
        outs = g.add("Split", [x, const(sizes)], {"axis": axis}, outputs=parts)
    elif g.opset >= 18:
        outs = g.add("Split", [x], {"axis": axis, "num_outputs": parts}, outputs=parts)
    else:
        outs = g.add("Split", [x], {"axis": axis}, outputs=parts)
    branches = []
    for out in outs:
        branch = pick("branch")
        if branch == "Mul":
            out = g.add("Mul", [out, const(pick.draw(st.sampled_from([2.0, -0.5])), FLOAT)])
        elif branch != "none":
            out = g.add(branch, [out])
        branches.append(out)
    if pick("order") == "reversed":
        branches.reverse()
    y = g.add("Concat", branches, {"axis": axis - rank if pick.draw(st.booleans()) else axis})
    return g.drawn([y])


register_graph("SplitConcat", _draw_split_concat, SPLIT_DOMAINS,
               "Split (explicit sizes, equal parts, num_outputs from opset 18) → an op per "
               "branch → Concat, in order or reversed")


# -- pixel shuffle ----------------------------------------------------------------------------

PIXEL_SHUFFLE_DOMAINS = {
    **IMAGE_DOMAINS,
    "form": ["shuffle", "unshuffle"],
    "factor": [2, 3],
    "leading_conv": [False, True],
    "batch_dim": ["value", "zero", "minus_one"],
}


def _draw_pixel_shuffle(pick: Picker):
    leading = pick("leading_conv")  # 3 or 4 nodes
    g = Graph(pick)
    form = pick("form")
    r = pick("factor")
    n, c = pick("batch"), pick("channels", among=[1, 2])
    h, w = integer(pick, 1, 3), integer(pick, 1, 3)
    in_shape = (n, c * r * r, h, w) if form == "shuffle" else (n, c, h * r, w * r)
    if leading:
        x0 = g.input((n, pick("channels"), *in_shape[2:]))
        x, _ = conv(g, x0, g.shapes[0], in_shape[1], (1, 1))
    else:
        x = g.input(in_shape)
    batch = {"value": n, "zero": 0, "minus_one": -1}[pick("batch_dim")]
    if form == "shuffle":  # torch.onnx's pixel_shuffle before DepthToSpace
        x = g.add("Reshape", [x, const([batch, c, r, r, h, w])])
        x = g.add("Transpose", [x], {"perm": [0, 1, 4, 2, 5, 3]})
        x = g.add("Reshape", [x, const([batch, c, h * r, w * r])])
    else:
        x = g.add("Reshape", [x, const([batch, c, h, r, w, r])])
        x = g.add("Transpose", [x], {"perm": [0, 1, 3, 5, 2, 4]})
        x = g.add("Reshape", [x, const([batch, c * r * r, h, w])])
    return g.drawn([x])


register_graph("PixelShuffle", _draw_pixel_shuffle, PIXEL_SHUFFLE_DOMAINS,
               "pixel shuffle (and unshuffle) as torch.onnx writes it: [Conv →] Reshape → "
               "Transpose → Reshape")


# -- Gather / Slice / Reshape / Transpose chains ----------------------------------------------

SHAPE_CHAIN_DOMAINS = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [3, 4, 2],
    "op": ["Transpose", "Reshape", "Slice", "Gather"],
    "perm_form": ["explicit", "omitted"],
    "end_form": ["exact", "int64_max", "negative"],
    "step": [1, 2, -1],
    "index_form": ["scalar", "list"],
}


def _transpose(g: Graph, pick: Picker, x: Ref, shape: list[int]):
    if pick("perm_form") == "omitted":  # the default: reverse the axes
        return g.add("Transpose", [x]), shape[::-1]
    perm = list(pick.draw(st.permutations(range(len(shape)))))
    return g.add("Transpose", [x], {"perm": perm}), [shape[p] for p in perm]


def _reshape(g: Graph, pick: Picker, x: Ref, shape: list[int]):
    total = math.prod(shape)
    rank = pick.draw(st.integers(1, 4))
    dims = []
    left = total
    for _ in range(rank - 1):
        divisors = [d for d in range(1, left + 1) if left % d == 0]
        d = pick.draw(st.sampled_from(divisors))
        dims.append(d)
        left //= d
    dims.append(left)
    written = list(dims)
    if pick.draw(st.booleans()):
        written[pick.draw(st.integers(0, rank - 1))] = -1
    # 0 copies the input's dimension (allowzero=0): exporters write it for the batch
    if written[0] == shape[0] and written[0] != -1 and pick.draw(st.booleans()):
        written[0] = 0
    return g.add("Reshape", [x, const(written)]), dims


def _slice(g: Graph, pick: Picker, x: Ref, shape: list[int]):
    axis = pick.draw(st.integers(0, len(shape) - 1))
    dim = shape[axis]
    step = pick("step")
    end_form = pick("end_form")
    if step > 0:
        start = pick.draw(st.integers(0, dim - 1))
        end = pick.draw(st.integers(start + 1, dim))
        length = len(range(start, end, step))
        written_end = {"exact": end, "int64_max": INT64_MAX if end == dim else end,
                       "negative": end - dim if end < dim else end}[end_form]
    else:
        start = pick.draw(st.integers(0, dim - 1))
        end = pick.draw(st.integers(-1, start - 1))
        length = len(range(start, end, step))
        written_end = -INT64_MAX if end == -1 else end
    out = list(shape)
    out[axis] = length
    axes = axis - len(shape) if pick.draw(st.booleans()) else axis
    return g.add("Slice", [x, const([start]), const([written_end]), const([axes]),
                           const([step])]), out


def _gather(g: Graph, pick: Picker, x: Ref, shape: list[int]):
    axis = pick.draw(st.integers(0, len(shape) - 1))
    dim = shape[axis]
    form = pick("index_form", among=pick.domain("index_form") if len(shape) > 1 else ["list"])
    index = st.integers(-dim, dim - 1)
    if form == "scalar":
        indices = pick.draw(index)
        out = shape[:axis] + shape[axis + 1:]
    else:
        indices = pick.draw(st.lists(index, min_size=1, max_size=3))
        out = shape[:axis] + [len(indices)] + shape[axis + 1:]
    return g.add("Gather", [x, const(indices)], {"axis": axis}), out


SHAPE_STEPS = {"Transpose": _transpose, "Reshape": _reshape, "Slice": _slice,
               "Gather": _gather}


def _draw_shape_chain(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = [pick("batch"), *[integer(pick, 1, 4) for _ in range(rank - 1)]]
    at: list[Any] = [g.input(tuple(shape)), shape]

    def step(pick: Picker, _index: int) -> None:
        at[:] = SHAPE_STEPS[pick("op")](g, pick, *at)

    each_block(pick, SHAPE_CHAIN_DOMAINS, 2, 5, step)
    return g.drawn([at[0]])


register_graph("ShapeChain", _draw_shape_chain, SHAPE_CHAIN_DOMAINS,
               "2-5 of Transpose (perm or reversed), Reshape (with -1 and 0), Slice (steps, "
               "negative and int64-max ends, negative axes) and Gather (scalar, list and "
               "negative indices) in a chain")


# -- a fully connected layer as a whole-image Conv (MATLAB) -----------------------------------

FC_AS_CONV_DOMAINS = {
    **IMAGE_DOMAINS, "units": [1, 2, 3, 5],
    "between": ["none", "Relu"],
    "flatten": ["Flatten", "Reshape", "Squeeze"],
    "softmax": [False, True],
}


def _draw_fc_as_conv(pick: Picker):
    g = Graph(pick)
    shape = image(pick, 1, 5)
    at: list[Any] = [g.input(shape), shape]

    def layer(pick: Picker, index: int) -> None:
        x, shape = at
        if index and pick("between") == "Relu":
            x = g.add("Relu", [x])
        at[:] = conv(g, x, shape, pick("units"), shape[2:])

    each_block(pick, FC_AS_CONV_DOMAINS, 1, 2, layer)
    x, shape = at
    n, units = shape[:2]
    flatten = pick("flatten")
    if flatten == "Flatten":
        x = g.add("Flatten", [x], {"axis": 1})
    elif flatten == "Reshape":
        x = g.add("Reshape", [x, const([n, units])])
    else:
        x = g.add("Squeeze", [x, const([2, 3])])
    if pick("softmax"):
        x = g.add("Softmax", [x], {"axis": 1})
    return g.drawn([x])


register_graph("FcAsConv", _draw_fc_as_conv, FC_AS_CONV_DOMAINS,
               "fully connected layers written as Conv over the whole image (MATLAB), then "
               "Flatten, Reshape or Squeeze, then optional Softmax")


# -- mean subtraction (MATLAB's image input normalisation) ------------------------------------

MEAN_SUB_DOMAINS = {
    **IMAGE_DOMAINS,
    "normalization": ["zerocenter", "zscore"],
    "mean_shape": ["[1,C,1,1]", "[C,1,1]", "[1,C,H,W]"],
    "kernel": [1, 3],
}


def _draw_mean_subtract(pick: Picker):
    normalization = pick("normalization")  # 2 or 3 nodes
    g = Graph(pick)
    shape = image(pick)
    n, c, h, w = shape
    x = g.input(shape)
    stat = {"[1,C,1,1]": [1, c, 1, 1], "[C,1,1]": [c, 1, 1],
            "[1,C,H,W]": [1, c, h, w]}[pick("mean_shape")]
    x = g.add("Sub", [x, weight(stat, "mean")])
    if normalization == "zscore":
        x = g.add("Div", [x, weight(stat, "variance")])
    kernel = pick("kernel")
    x, _ = conv(g, x, shape, pick("channels"), (min(kernel, h), min(kernel, w)))
    return g.drawn([x])


register_graph("MeanSubtract", _draw_mean_subtract, MEAN_SUB_DOMAINS,
               "MATLAB's input normalisation: Sub of a [1,C,1,1] (or [C,1,1], or whole-image) "
               "mean, optionally Div by a standard deviation, then Conv")


# -- Gemm chains ending in LogSoftmax (torch.onnx classifiers) --------------------------------

GEMM_CHAIN_DOMAINS = {
    OPSET: OPSETS, "batch": [1, 2, 3], **GEMM_DOMAINS,
    "between": ["Relu", "none"],
    "last": ["LogSoftmax", "Softmax"],
    "axis": [1, -1],
}


def _draw_gemm_chain(pick: Picker):
    g = Graph(pick)
    features = integer(pick, 1, 8)
    at: list[Any] = [g.input((pick("batch"), features)), features]
    each_block(pick, GEMM_CHAIN_DOMAINS, 1, 3, lambda pick, i: gemm_block(g, pick, at, i))
    x = g.add(pick("last"), [at[0]], {"axis": pick("axis")})
    return g.drawn([x])


register_graph("GemmChain", _draw_gemm_chain, GEMM_CHAIN_DOMAINS,
               "1-3 Gemm (Relu between) → LogSoftmax or Softmax, as torch.onnx writes an MLP "
               "classifier")


# -- old opsets with their attribute forms ----------------------------------------------------

LEGACY_OPSETS = [9, 8, 7]  # onnxruntime runs opset 7 and later
LEGACY_DOMAINS = {
    OPSET: LEGACY_OPSETS, "batch": [1, 2], "channels": [1, 2, 3],
    "tail": ["none", "head", "Upsample", "Pad"],
    "kernel": [1, 3],
    "activation": ["Relu", "LeakyRelu", "Clip"],
    "alpha": [0.01, 0.2],
    "epsilon": [1e-5, 1e-3],
    "upsample_mode": ["nearest", "linear"],
    "pad_mode": ["constant", "reflect", "edge"],
    "units": [1, 2, 3],
    # Dropout-7: ratio an attribute (an input from opset 12); an identity in inference at
    # any ratio, and a ratio of 0 is onnxoptimizer's eliminate_nop_dropout's target.
    "dropout": ["none", 0.0, 0.5],
}


def _legacy_block(g: Graph, pick: Picker, at: list[Any]) -> None:
    """Conv → BatchNormalization (``spatial`` before opset 9) → activation [→ Dropout], in
    the attribute forms of opsets 7-9, on ``at`` = [ref, shape]."""
    x, shape = at
    kernel = pick("kernel")
    x, shape = conv(g, x, shape, pick("channels"), (kernel, kernel), pads=(kernel // 2,) * 4)
    c = shape[1]
    bn: dict[str, Any] = {"epsilon": pick("epsilon"), "momentum": 0.9}
    if g.opset < 9:
        bn["spatial"] = 1  # BatchNormalization-7's attribute, gone at 9
    x = g.add("BatchNormalization", [x, weight([c], "scale"), weight([c], "beta"),
                                     weight([c], "mean"), weight([c], "variance")], bn)
    activation_ = pick("activation")
    if activation_ == "LeakyRelu":
        x = g.add("LeakyRelu", [x], {"alpha": pick("alpha")})
    elif activation_ == "Clip":  # Clip-6: the bounds are attributes
        x = g.add("Clip", [x], {"min": 0.0, "max": 6.0})
    else:
        x = g.add("Relu", [x])
    if (ratio := pick("dropout")) != "none":
        x = g.add("Dropout", [x], {"ratio": ratio})
    at[:] = [x, shape]


def _draw_legacy(pick: Picker):
    tail = pick("tail")
    g = Graph(pick)
    shape = image(pick, 2, 5)
    at: list[Any] = [g.input(shape), shape]
    each_block(pick, LEGACY_DOMAINS, 1, 2, lambda pick, _i: _legacy_block(g, pick, at))
    x, shape = at
    n, c, h, w = shape
    if tail == "Upsample":  # Resize's predecessor: scales an attribute until opset 9
        scales = [1.0, 1.0, 2.0, 2.0]
        mode = pick("upsample_mode")
        if g.opset < 9:
            x = g.add("Upsample", [x], {"mode": mode, "scales": scales})
        else:
            x = g.add("Upsample", [x, const(scales, FLOAT)], {"mode": mode})
    elif tail == "Pad":  # Pad-2: pads and value are attributes until opset 11
        mode = pick("pad_mode")
        attrs: dict[str, Any] = {"mode": mode, "pads": [0, 0, 1, 1, 0, 0, 1, 1]}
        if mode == "constant":
            attrs["value"] = 0.5
        x = g.add("Pad", [x], attrs)
    elif tail == "head":
        x = g.add("Flatten", [x], {"axis": 1})
        x = gemm_legacy(g, x, c * h * w, pick("units"))
        x = g.add("Softmax", [x], {"axis": 1})
    return g.drawn([x])


def gemm_legacy(g: Graph, x: Ref, features: int, units: int) -> Ref:
    return g.add("Gemm", [x, weight([units, features]), weight([units], "bias")],
                 {"alpha": 1.0, "beta": 1.0, "transB": 1})


register_graph("LegacyOpsetNet", _draw_legacy, LEGACY_DOMAINS,
               "opsets 7-9 as older exporters wrote them: Conv → BatchNormalization (spatial "
               "at 7 and 8) → Relu, LeakyRelu or Clip (bounds as attributes) → optional "
               "Dropout (ratio 0 or 0.5, an attribute), then Upsample "
               "(scales an attribute before 9), Pad-2 (pads and value as attributes) or a "
               "Flatten → Gemm → Softmax head")


# -- If with a constant or computed condition -------------------------------------------------

IF_DOMAINS = {
    OPSET: OPSETS, "batch": [1, 2], "rank": [2, 3, 4],
    # the condition: a constant (an initializer, True or False, as a scalar or one element;
    # a Constant node), or computed from the input: from its values, or from its batch size
    # (torch.onnx's squeeze of a dimension it cannot see, folded once the shape is known)
    "cond": ["true", "false", "constant_node", "values", "batch"],
    "cond_shape": ["scalar", "one"],
    "read": ["input", "node"],  # the outer value the branches read: x, or Relu(x)
    "branch_op": ["Add", "Mul", "Neg", "Relu", "Sigmoid"],
    # a branch's constant: the outer graph's initializer, its own, or a Constant node in it
    "branch_const": ["outer", "inner", "constant_node"],
    "branch_value": [1.5, -2.0, 0.5],
    "after": ["none", "Neg"],  # the If's output a graph output, or read by a next node
}


def _cond(g: Graph, pick: Picker, x: Ref) -> Ref:
    cond = pick("cond")
    scalar = pick("cond_shape") == "scalar"
    if cond in ("true", "false"):
        value = cond == "true"
        return const(value if scalar else [value], "bool")
    if cond == "constant_node":
        value = pick.draw(st.booleans())
        return g.add("Constant", [], {"value": {"tensor": value if scalar else [value],
                                                "dtype": "bool"}})
    if cond == "values":  # ReduceSum(x) > 0 over every axis: a scalar
        total = g.add("ReduceSum", [x], {"keepdims": 0})
        return g.add("Greater", [total, const(0.0, FLOAT)])
    batch = g.add("Gather", [g.add("Shape", [x]), const(0)], {"axis": 0})
    return g.add("Equal", [batch, const(1)])


def _branch(g: Graph, pick: Picker, read: Ref, features: int) -> dict[str, Any]:
    """1-2 elementwise ops on the outer value ``read``: a branch graph."""
    nodes: list[dict[str, Any]] = []
    at: Ref = {OUTER: read}
    for _ in range(integer(pick, 1, 2)):
        op = pick("branch_op")
        inputs = [at]
        if op in ("Add", "Mul"):
            value = pick("branch_value")
            values = value if pick.draw(st.booleans()) else [value * (k + 1)
                                                             for k in range(features)]
            where = pick("branch_const")
            if where == "outer":
                inputs.append({OUTER: const(values, FLOAT)})
            elif where == "inner":
                inputs.append(const(values, FLOAT))
            else:
                nodes.append({"kind": "Constant", "attrs": {OPSET: g.opset, "value": {
                    "tensor": values, "dtype": FLOAT}}, "inputs": []})
                inputs.append(len(nodes) - 1)
        nodes.append({"kind": op, "attrs": {OPSET: g.opset}, "inputs": inputs})
        at = len(nodes) - 1
    return {SUBGRAPH: {NODES: nodes, GRAPH_OUTPUTS: [at]}}


def _draw_if(pick: Picker):
    g = Graph(pick)
    rank = pick("rank")
    shape = (pick("batch"), *[integer(pick, 1, 3) for _ in range(rank - 1)])
    x = g.input(shape)
    cond = _cond(g, pick, x)
    read = g.add("Relu", [x]) if pick("read") == "node" else x
    y = g.add("If", [cond], {"then_branch": _branch(g, pick, read, shape[-1]),
                             "else_branch": _branch(g, pick, read, shape[-1])})
    if pick("after") == "Neg":
        y = g.add("Neg", [y])
    return g.drawn([y])


register_graph("IfBranches", _draw_if, IF_DOMAINS,
               "If whose condition is a constant (an initializer or a Constant node, scalar or "
               "one element) or computed from the input (ReduceSum(x) > 0, or its batch size "
               "equal to 1), each branch 1-2 of Add, Mul (by a constant of the outer graph, of "
               "its own, or a Constant node in it), Neg, Relu, Sigmoid on an outer value (x or "
               "Relu(x)), as exporters write a branch; the If's output a graph output or read "
               "by a Neg")


# -- Resize at opsets 10 to 12, as exporters wrote it before Resize-13 -------------------------

EARLY_RESIZE_DOMAINS = {
    OPSET: [11, 10, 12], "batch": [1, 2], "channels": [1, 2, 3],
    "mode": ["nearest", "linear", "cubic"],
    # tf_half_pixel_for_nn: tf2onnx's TensorFlow nearest at opsets 11 and 12 (gone at 13)
    "coordinate_transformation_mode": ["half_pixel", "asymmetric", "align_corners",
                                       "pytorch_half_pixel", "tf_half_pixel_for_nn",
                                       "tf_crop_and_resize"],
    "nearest_mode": ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"],
    "cubic_coeff_a": [-0.75, -0.5],
    "exclude_outside": [0, 1],
    "extrapolation_value": [0.0, -1.0],
    "form": ["scales", "sizes"],
    "scale": [2.0, 0.5, 1.5, 3.0, 0.75, 1.0],
    "roi": [[0.25, 0.0, 0.75, 1.0], [0.1, 0.2, 0.9, 0.6]],
}


def _draw_early_resize(pick: Picker):
    """A 1x1 Conv, then Resize in its opset-10 form (scales an input, ``mode`` its only
    attribute, nearest or linear; the coordinate x / scale, which later opsets call
    asymmetric) or its opset-11 form (every coordinate mode then, tf_half_pixel_for_nn
    among them; roi and scales inputs always there, empty where unused, as the exporters
    of opsets 11 and 12 wrote them)."""
    g = Graph(pick)
    shape = image(pick, 1, 5)
    x, shape = conv(g, g.input(shape), shape, pick("channels"), (1, 1))
    n, c, h, w = shape
    first = g.opset == 10
    attrs: dict[str, Any] = {"mode": pick("mode", among=["nearest", "linear"] if first
                                         else None)}
    by = "scales" if first else pick("form")
    if not first:
        attrs["coordinate_transformation_mode"] = pick("coordinate_transformation_mode")
        if attrs["mode"] == "nearest":
            attrs["nearest_mode"] = pick("nearest_mode")
        if attrs["mode"] == "cubic":
            attrs["cubic_coeff_a"] = pick("cubic_coeff_a")
            attrs["exclude_outside"] = pick("exclude_outside")
        if attrs["coordinate_transformation_mode"] == "tf_crop_and_resize":
            attrs["extrapolation_value"] = pick("extrapolation_value")
    if by == "scales":
        scales = const([1.0, 1.0, *[pick("scale", among=[s for s in pick.domain("scale")
                                                        if math.floor(d * s) >= 1])
                                    for d in (h, w)]], FLOAT)
    if first:
        return g.drawn([g.add("Resize", [x, scales], attrs)])
    box = (pick("roi") if attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
           else None)
    roi = const([] if box is None else [0.0, 0.0, box[0], box[1], 1.0, 1.0, box[2], box[3]],
                FLOAT)
    if by == "scales":
        return g.drawn([g.add("Resize", [x, roi, scales], attrs)])
    sizes = const([n, c, integer(pick, 1, 8), integer(pick, 1, 8)])
    return g.drawn([g.add("Resize", [x, roi, const([], FLOAT), sizes], attrs)])


register_graph("EarlyResizeGraph", _draw_early_resize, EARLY_RESIZE_DOMAINS,
               "a 1x1 Conv, then Resize as opsets 10 to 12 write it: Resize-10 (scales an "
               "input, nearest or linear, coordinates x / scale) or Resize-11 (every "
               "coordinate mode, tf_half_pixel_for_nn among them, with roi and scales "
               "inputs written empty where unused), by scales or sizes")
