"""Model kinds: Sequential stacks and Functional graphs of registered layer kinds.

They are registered like layer kinds (family ``models``), so they run through the same
pipeline, golden store, report and ``parity repro``. Their attrs nest the layers' own::

    Sequential  {"layers": [{"kind": "Conv2D", "attrs": {...}}, ...]}
    Functional  {"nodes": [{"kind": K, "attrs": A, "inputs": [ref, ...]},
                           {"shared": j, "inputs": [ref, ...]}, ...],
                 "outputs": [ref, ...]}

where a ref is ``"input_<i>"`` or the index of an earlier node, and a ``shared`` node calls
node j's layer object again (one set of weights). Shapes are compatible by construction:
every layer is drawn from ``STACKABLE``, whose rules draw a configuration that accepts the
current shape and compute the shape it produces (checked against Keras in
tests/test_models.py). Node i's Keras layer is named ``n{i:02d}_<layer_name(kind)>`` and the
models ``parity_sequential`` / ``parity_functional``, so that diagnostics can map tensors
across frameworks by name.

Draws go simplest first so that Hypothesis shrinks a failure to the shortest stack or chain:
layers are drawn like the elements of ``st.lists`` (a "one more?" choice before each, each
layer's choices one span that the shrinker can delete whole), each layer kind from a list
that starts with Dense, each node's operation from one that starts with "apply to the
newest tensor".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from harness.core import registry
from harness.core.dtypes import array_dtype
from harness.core.inputs import INT_INPUTS, int_bounds
from harness.core.registry import LayerKind, Picker, register
from harness.core.strategies import overrides_for, register_inputs, sparse_overrides
from harness.sources.keras.kinds._base import BATCH, conv_output_size
from harness.sources.keras.model import layer_name

Shape = tuple[int, ...]  # without the batch dimension
MAX_DIM = 12
MAX_ELEMENTS = 256
MERGE_KINDS = ("Add", "Concatenate")


@dataclass(frozen=True)
class Stackable:
    """How one registered kind is drawn inside a model: which shapes it accepts and, for an
    accepted shape, a configuration and the shape it produces."""

    kind: str
    accepts: Callable[[Shape], bool]
    draw: Callable[[Picker, Shape], tuple[dict[str, Any], Shape]]
    first_only: bool = False  # takes the model input (Embedding, Masking)
    int_input: bool = False  # its input is int32 token ids (Embedding)


def _any(shape: Shape) -> bool:
    return True


def _rank(*ranks: int) -> Callable[[Shape], bool]:
    return lambda shape: len(shape) in ranks


def _same(attrs_fn):
    return lambda sub, shape: (attrs_fn(sub, shape), shape)


def _activation(sub, shape):
    return {"activation": sub("activation")}


def _relu(sub, shape):
    max_value = sub("max_value")
    thresholds = [t for t in sub.domain("threshold") if max_value is None or t <= max_value]
    return {"max_value": max_value, "negative_slope": sub("negative_slope"),
            "threshold": sub("threshold", thresholds)}


def _prelu(sub, shape):
    axes = [a for a in sub.domain("shared_axes") if a is None or max(a) <= len(shape)]
    return {"shared_axes": sub("shared_axes", axes)}


def _batch_norm(sub, shape):
    return {"axis": -1, "epsilon": sub("epsilon"), "center": sub("center"), "scale": sub("scale")}


def _layer_norm(sub, shape):
    rms = sub("rms_scaling")
    return {"axis": -1, "epsilon": sub("epsilon"), "center": False if rms else sub("center"),
            "scale": sub("scale"), "rms_scaling": rms}


def _dense(sub, shape):
    attrs = {"units": sub("units"), "use_bias": sub("use_bias"), "activation": sub("activation")}
    return attrs, (*shape[:-1], attrs["units"])


def _flatten(sub, shape):
    return {}, (math.prod(shape),)


def _factorisations(n: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(n,)]
    return [(f, *rest) for f in range(1, n + 1) if n % f == 0
            for rest in _factorisations(n // f, parts - 1)]


def _reshape(sub, shape):
    total = math.prod(shape)
    target = sub.draw(st.sampled_from(_factorisations(total, sub("target_rank"))))
    written = list(target)
    if sub("infer_one_axis"):
        written[sub.draw(st.integers(0, len(written) - 1))] = -1
    return {"target_shape": written}, tuple(target)


def _conv(rank: int):
    def draw(sub, shape):
        spatial, channels = shape[:-1], shape[-1]
        padding = sub("padding")
        kernel = [sub("kernel_size", [k for k in sub.domain("kernel_size")
                                      if padding != "valid" or k <= s]) for s in spatial]
        strides = [sub("strides") for _ in spatial]
        dilation = [1] * rank
        if max(strides) == 1:
            dilation = [sub("dilation_rate", [d for d in sub.domain("dilation_rate")
                                              if padding != "valid" or (k - 1) * d + 1 <= s])
                        for k, s in zip(kernel, spatial)]
        groups = sub("groups", [g for g in sub.domain("groups") if channels % g == 0])
        attrs = {
            "filters": sub("filters") * groups,
            "kernel_size": kernel,
            "strides": strides,
            "padding": padding,
            "dilation_rate": dilation,
            "groups": groups,
            "use_bias": sub("use_bias"),
            "activation": sub("activation"),
            "data_format": "channels_last",
        }
        out = tuple(conv_output_size(s, k, st_, d, padding)
                    for s, k, st_, d in zip(spatial, kernel, strides, dilation))
        return attrs, (*out, attrs["filters"])

    return draw


def _pool(rank: int):
    def draw(sub, shape):
        spatial = shape[:-1]
        pool = [sub("pool_size", [p for p in sub.domain("pool_size") if p <= s])
                for s in spatial]
        strides = sub("strides")
        if strides is not None:
            strides = [sub("strides", sub.domain("strides")[1:]) for _ in spatial]
        padding = sub("padding")
        attrs = {"pool_size": pool, "strides": strides, "padding": padding,
                 "data_format": "channels_last"}
        steps = strides or pool
        out = tuple(conv_output_size(s, p, t, 1, padding) for s, p, t in zip(spatial, pool, steps))
        return attrs, (*out, shape[-1])

    return draw


def _global_pool(sub, shape):
    keepdims = sub("keepdims")
    out = (*([1] * (len(shape) - 1)), shape[-1]) if keepdims else (shape[-1],)
    return {"data_format": "channels_last", "keepdims": keepdims}, out


def _zero_padding(rank: int):
    def draw(sub, shape):
        if rank == 1:
            padding = sub("padding") if sub("symmetric") else [sub("padding"), sub("padding")]
            pairs = [padding if isinstance(padding, list) else [padding, padding]]
            attrs = {"padding": padding}
        else:
            if sub("symmetric"):
                padding = sub("padding")
                pairs = [[padding, padding]] * 2
            else:
                padding = pairs = [[sub("padding"), sub("padding")] for _ in range(2)]
            attrs = {"padding": padding, "data_format": "channels_last"}
        out = tuple(s + a + b for s, (a, b) in zip(shape[:-1], pairs))
        return attrs, (*out, shape[-1])

    return draw


def _upsampling(rank: int):
    def draw(sub, shape):
        if rank == 1:
            size = sub("size")
            return {"size": size}, (shape[0] * size, shape[1])
        size = [sub("size"), sub("size")]
        # Nearest and bilinear only: bicubic, area and lanczos have known issues of their
        # own (onnx2torch's cubic coefficient, ...) that would hide the rest of a model.
        attrs = {"size": size, "interpolation": sub("interpolation", ["nearest", "bilinear"]),
                 "data_format": "channels_last"}
        return attrs, (shape[0] * size[0], shape[1] * size[1], shape[2])

    return draw


def _embedding(sub, shape):
    attrs = {"input_dim": sub("input_dim"), "output_dim": sub("output_dim")}
    return attrs, (*shape, attrs["output_dim"])


def _fits(limit: int) -> Callable[[Shape], bool]:
    return lambda shape: all(s * limit <= MAX_DIM for s in shape[:-1])


def _and(*tests):
    return lambda shape: all(t(shape) for t in tests)


STACKABLE: dict[str, Stackable] = {s.kind: s for s in (
    Stackable("Dense", _any, _dense),
    Stackable("Activation", _any, _same(_activation)),
    Stackable("ReLU", _any, _same(_relu)),
    Stackable("LeakyReLU", _any, _same(lambda sub, s: {"negative_slope": sub("negative_slope")})),
    Stackable("ELU", _any, _same(lambda sub, s: {"alpha": sub("alpha")})),
    Stackable("PReLU", _any, _same(_prelu)),
    Stackable("Softmax", _any, _same(lambda sub, s: {"axis": -1})),
    Stackable("Dropout", _any, _same(lambda sub, s: {"rate": sub("rate"), "seed": 0})),
    Stackable("BatchNormalization", _any, _same(_batch_norm)),
    Stackable("LayerNormalization", _any, _same(_layer_norm)),
    Stackable("CustomScale", _any, _same(lambda sub, s: {})),
    Stackable("CustomAffine", _any, _same(lambda sub, s: {})),
    Stackable("CustomOps", _any, _same(lambda sub, s: {"op": sub("op")})),
    Stackable("Flatten", lambda s: len(s) >= 2, _flatten),
    Stackable("Reshape", _any, _reshape),
    Stackable("Conv1D", _rank(2), _conv(1)),
    Stackable("Conv2D", _rank(3), _conv(2)),
    Stackable("MaxPooling1D", _rank(2), _pool(1)),
    Stackable("AveragePooling1D", _rank(2), _pool(1)),
    Stackable("MaxPooling2D", _rank(3), _pool(2)),
    Stackable("AveragePooling2D", _rank(3), _pool(2)),
    Stackable("GlobalAveragePooling1D", _rank(2), _global_pool),
    Stackable("GlobalAveragePooling2D", _rank(3), _global_pool),
    Stackable("GlobalMaxPooling1D", _rank(2), _global_pool),
    Stackable("ZeroPadding1D", _and(_rank(2), lambda s: s[0] + 6 <= MAX_DIM), _zero_padding(1)),
    Stackable("ZeroPadding2D", _and(_rank(3), lambda s: max(s[:2]) + 6 <= MAX_DIM),
              _zero_padding(2)),
    Stackable("UpSampling1D", _and(_rank(2), _fits(3)), _upsampling(1)),
    Stackable("UpSampling2D", _and(_rank(3), _fits(3)), _upsampling(2)),
    Stackable("Masking", lambda s: len(s) >= 2,
              _same(lambda sub, s: {"mask_value": sub("mask_value")}), first_only=True),
    Stackable("Embedding", _rank(1), _embedding, first_only=True, int_input=True),
)}
STACK_ORDER = list(STACKABLE)
# Masking's mask has the input's shape without its last axis (one flag per time step), and
# Softmax applies the mask it receives to its own inputs with a right-aligned broadcast: the
# time steps land on the feature axis, which Keras refuses ("The `mask` must be broadcastable
# to `inputs`") or, when the two sizes happen to agree, computes something no one means.
MISALIGNED_UNDER_MASKING = ("Softmax",)


def _sub_picker(pick: Picker, kind: str) -> Picker:
    return Picker(pick.draw, registry.get(kind).domains)


def _draw_layer(pick: Picker, shape: Shape, first: bool, among: list[str] | None = None):
    """One stackable layer that accepts ``shape``: (kind, attrs, output shape)."""
    candidates = [
        k for k in (among or STACK_ORDER)
        if STACKABLE[k].accepts(shape) and (first or not STACKABLE[k].first_only)
    ]
    while True:
        kind = pick("stack", candidates)
        attrs, out = STACKABLE[kind].draw(_sub_picker(pick, kind), shape)
        if math.prod(out) <= MAX_ELEMENTS and all(d >= 1 for d in out):
            return kind, attrs, tuple(out)
        candidates = [k for k in candidates if k != kind]  # too large here: another kind


MAX_DEPTH = 6


def _layers(pick: Picker):
    """Indices 0, 1, ... of the layers (nodes) to draw: one at least, MAX_DEPTH at most, a
    "one more?" choice before each further one (shrinking to "no")."""
    for i in range(MAX_DEPTH):
        if i > 0 and pick.draw(st.integers(0, 3)) == 0:
            return
        yield i


def _span(pick: Picker, domains, fn, *args, **kwargs):
    """Runs ``fn(picker, *args)`` inside one strategy, so that its choices form one span."""

    @st.composite
    def block(draw):
        return fn(Picker(draw, domains), *args, **kwargs)

    return pick.draw(block())


def _draw_input_shape(pick: Picker) -> Shape:
    rank = pick("rank")  # batch included
    spatial = tuple(1 + pick.draw(st.integers(0, 4)) for _ in range(rank - 2))
    return (*spatial, pick("channels"))


# --- Sequential -----------------------------------------------------------------------

SEQUENTIAL_DOMAINS = {
    # keras.Sequential, or the same stack as a functional keras.Model: tf2onnx cannot
    # convert Keras 3 Sequential models at all (tf2onnx-keras3-sequential-output-names),
    # so the functional form is first, where the stack's numerics are checked.
    "api": ["functional", "sequential"],
    "stack": STACK_ORDER,
    "rank": [2, 3, 4],  # input rank, batch included
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_sequential(pick: Picker):
    # One stack in four as keras.Sequential: every one of those is a known tf2onnx failure,
    # which would hide the numerics of the stack.
    api = SEQUENTIAL_DOMAINS["api"][int(pick.draw(st.integers(0, 3)) == 3)]
    batch = pick("batch")
    input_shape = shape = _draw_input_shape(pick)
    layers, bounds, among = [], None, None
    for i in _layers(pick):
        kind, attrs, out = _span(pick, SEQUENTIAL_DOMAINS, _draw_layer, shape,
                                 first=i == 0, among=among)
        if kind == "Masking":
            among = [k for k in STACK_ORDER if k not in MISALIGNED_UNDER_MASKING]
        if STACKABLE[kind].int_input:
            bounds = [attrs["input_dim"]]
        layers.append({"kind": kind, "attrs": attrs})
        shape = out
    attrs: dict[str, Any] = {"layers": layers, "api": api}
    if bounds:
        attrs[INT_INPUTS] = bounds
    return attrs, [(batch, *input_shape)]


def layer_for(kind: str, attrs: dict[str, Any], name: str):
    """The Keras layer of a registered kind, named ``name`` whatever its builder does."""
    layer = registry.get(kind).keras_layer(dict(attrs), name=name)
    if layer.name != name:
        layer.name = name  # a builder of its own (custom layers) may name it otherwise
    return layer


def node_name(index: int, kind: str) -> str:
    return f"n{index:02d}_{layer_name(kind)}"


def _input(shape, dtype: str, index: int, bounds):
    import keras

    is_int = index < len(bounds) and bounds[index] is not None
    return keras.Input(shape=tuple(shape[1:]), dtype="int32" if is_int else array_dtype(dtype),
                       name=f"input_{index}")


def build_sequential(attrs: dict[str, Any], input_shapes, dtype: str):
    """A keras.Sequential (``api`` "sequential", the default) or the same chain as a
    functional keras.Model (``api`` "functional")."""
    import keras

    bounds = int_bounds(attrs)
    x = _input(input_shapes[0], dtype, 0, bounds)
    layers = [layer_for(layer["kind"], layer["attrs"], node_name(i, layer["kind"]))
              for i, layer in enumerate(attrs["layers"])]
    if attrs.get("api", "sequential") == "sequential":
        return keras.Sequential([x, *layers], name="parity_sequential")
    y = x
    for layer in layers:
        y = layer(y)
    return keras.Model(x, y, name="parity_sequential")


def _sequential_inputs(attrs, shapes, dtype):
    """A Sequential's inputs are its first layer's: Masking gets masked time steps;
    otherwise sparse values (valid token ids for an Embedding's int input)."""
    first = attrs["layers"][0]
    if first["kind"] == "Masking":
        return overrides_for("Masking", first["attrs"], shapes, dtype)
    return sparse_overrides(int_bounds(attrs), shapes, dtype)


# --- Functional ------------------------------------------------------------------------

FUNCTIONAL_DOMAINS = {
    "inputs": [1, 2],
    "node_op": ["apply", "add", "concatenate", "shared"],
    "extra_output": [False, True],
    "stack": [k for k in STACK_ORDER if not STACKABLE[k].first_only],
    "rank": [2, 3, 4],
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_functional(pick: Picker):
    batch = pick("batch")
    n_inputs = pick("inputs")
    first = _draw_input_shape(pick)
    input_shapes = [first]
    for _ in range(1, n_inputs):
        # The same shape (siamese branches, residual sums) or another last axis (concat).
        other_channels = pick.draw(st.booleans())
        input_shapes.append((*first[:-1], pick("channels")) if other_channels else first)
    # The tensors so far, newest first (input_0 before input_1 at the start): (ref, shape).
    pool: list[tuple[Any, Shape]] = [(f"input_{i}", s) for i, s in enumerate(input_shapes)]
    nodes: list[dict[str, Any]] = []
    node_shapes: list[Shape] = []
    # Layer nodes: (node, input shape, input ref, output shape), for sharing.
    applied: list[tuple[int, Shape, Any, Shape]] = []
    consumed: set[Any] = set()
    for i in _layers(pick):
        node, out = _span(pick, FUNCTIONAL_DOMAINS, _draw_node, pool, applied, i)
        nodes.append(node)
        node_shapes.append(out)
        consumed.update(node["inputs"])
        pool.insert(0, (i, out))
    # Every input is consumed: an unused one gets a layer of its own (an extra output).
    for j in range(n_inputs):
        ref = f"input_{j}"
        if ref not in consumed:
            kind, attrs, out = _draw_layer(pick, input_shapes[j], first=False,
                                           among=FUNCTIONAL_DOMAINS["stack"])
            nodes.append({"kind": kind, "attrs": attrs, "inputs": [ref]})
            node_shapes.append(out)
            consumed.add(ref)
    # Outputs: every node no other node consumes (so every layer reaches an output), and
    # perhaps an intermediate one.
    outputs = [i for i in range(len(nodes)) if i not in consumed]
    inner = [i for i in range(len(nodes)) if i in consumed]
    if inner and pick("extra_output"):
        outputs.insert(0, pick.draw(st.sampled_from(inner)))
    attrs = {"nodes": nodes, "outputs": sorted(outputs)}
    return attrs, [(batch, *s) for s in input_shapes]


def _draw_node(pick: Picker, pool, applied, index: int):
    """One node over the tensors in ``pool`` (newest first); falls back to "apply" when the
    drawn operation has no compatible operands."""
    newest_ref, newest_shape = pool[0]
    op = pick("node_op")
    if op == "add":
        partners = [r for r, s in pool[1:] if s == newest_shape]
        if partners:
            other = pick.draw(st.sampled_from(partners))
            return {"kind": "Add", "attrs": {}, "inputs": [other, newest_ref]}, newest_shape
    if op == "concatenate":
        partners = [(r, s) for r, s in pool[1:] if s[:-1] == newest_shape[:-1]]
        if partners:
            other, shape = pick.draw(st.sampled_from(partners))
            out = (*newest_shape[:-1], newest_shape[-1] + shape[-1])
            if math.prod(out) <= MAX_ELEMENTS:
                return ({"kind": "Concatenate", "attrs": {"axis": -1},
                         "inputs": [other, newest_ref]}, out)
    if op == "shared":
        # Call an earlier layer again on another tensor of the shape it was built for.
        options = [(j, r) for j, shape, own, _out in applied for r, s in pool
                   if s == shape and r != own]
        if options:
            j, ref = pick.draw(st.sampled_from(options))
            return {"shared": j, "inputs": [ref]}, _output_of_shared(applied, j)
    # "apply": a layer on one of the tensors, the newest first.
    position = pick.draw(st.integers(0, len(pool) - 1))
    ref, shape = pool[position]
    kind, attrs, out = _draw_layer(pick, shape, first=False, among=FUNCTIONAL_DOMAINS["stack"])
    applied.append((index, shape, ref, out))
    return {"kind": kind, "attrs": attrs, "inputs": [ref]}, out


def _output_of_shared(applied, j):
    for node, _shape, _ref, out in applied:
        if node == j:
            return out
    raise KeyError(j)


def build_functional(attrs: dict[str, Any], input_shapes, dtype: str):
    import keras

    bounds = int_bounds(attrs)
    inputs = [_input(shape, dtype, i, bounds) for i, shape in enumerate(input_shapes)]
    tensors: dict[Any, Any] = {f"input_{i}": x for i, x in enumerate(inputs)}
    layers: dict[int, Any] = {}
    for i, node in enumerate(attrs["nodes"]):
        args = [tensors[ref] for ref in node["inputs"]]
        if "shared" in node:
            layer = layers[node["shared"]]
            kind = attrs["nodes"][node["shared"]]["kind"]
        else:
            kind = node["kind"]
            layer = layers[i] = layer_for(kind, node["attrs"], node_name(i, kind))
        tensors[i] = layer(args if kind in MERGE_KINDS else args[0])
    outputs = [tensors[ref] for ref in attrs["outputs"]]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0],
                       outputs if len(outputs) > 1 else outputs[0], name="parity_functional")


def _functional_inputs(attrs, shapes, dtype):
    return sparse_overrides(int_bounds(attrs), shapes, dtype)


register(
    LayerKind(
        name="Sequential",
        family="models",
        domains=SEQUENTIAL_DOMAINS,
        draw=_draw_sequential,
        build_model=build_sequential,
        doc="keras.Sequential of 1..6 layers drawn from STACKABLE, shape-compatible; "
            "attrs: {layers: [{kind, attrs}, ...]}.",
    )
)
register(
    LayerKind(
        name="Functional",
        family="models",
        domains=FUNCTIONAL_DOMAINS,
        draw=_draw_functional,
        build_model=build_functional,
        doc="keras.Model graph: branches, residual Add, Concatenate, shared layers, 1..2 "
            "inputs, several outputs; attrs: {nodes: [{kind, attrs, inputs} | "
            "{shared, inputs}], outputs: [ref, ...]}.",
    )
)
register_inputs("Sequential", _sequential_inputs)
register_inputs("Functional", _functional_inputs)
