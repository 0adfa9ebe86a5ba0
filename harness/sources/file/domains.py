"""What values each input of a user's model takes, inferred from what consumes it whatever
its declared dtype: token ids for an ``Embedding`` (Keras 2 declares its ``Input`` float32
by default), category ids for a ``CategoryEncoding``, raw pixels in front of a
``Rescaling`` by about 1/255, indices for an ONNX ``Gather``. A case draws such an input
integer-valued in [0, bound), in the input's own dtype."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MASK_BOUND = 2  # a boolean input: fair coins
PIXEL_BOUND = 256  # raw 8-bit pixels: 0..255
# 1/scale of a Rescaling that reads raw 8-bit pixels (1/255, 1/127.5 with offset -1, 1/256).
PIXEL_INVERSE_SCALES = (127.0, 257.0)
# An input its writer names a mask: attention_mask, input_mask, padding_mask (a tokenizer's, a
# TF Hub BERT's, KerasHub's), with a SavedModel's or TFLite signature's prefix or suffix.
MASK_NAME = re.compile(r"(?:^|[^a-z0-9])mask(?::\d+)?$")
# Layers that hand their input's values on unchanged: the consumer behind them decides.
PASS_THROUGH = frozenset({"Masking", "Dropout", "SpatialDropout1D", "Reshape", "Flatten",
                          "Permute", "InputLayer"})
# Nodes (in ONNX's spelling) that hand their first input's values on, moved or repeated: an
# index stays one (a decoder's ids[:, :-1], a batch of ids transposed).
INDEX_PASS_THROUGH = frozenset({"Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze",
                                "Flatten", "Transpose", "Slice", "Expand", "Tile"})
# Nodes whose output holds every input's values: ids joined to a constant [CLS] id.
INDEX_JOIN = frozenset({"Concat"})
# The arithmetic Keras 3's ``take`` wraps a negative index with (ids < 0 ? ids + n : ids): a
# select in TensorFlow and TFLite, Mul and Add over Not(Less(ids, 0)) after tf2onnx. Where the
# index meets a Less, these nodes hand its values on too: every drawn id is >= 0.
INDEX_WRAP = frozenset({"Less", "Not", "Where", "Add", "Mul"})


@dataclass(frozen=True)
class Domain:
    """An input's values: integers in [0, bound), and why."""

    bound: int
    what: str  # "token ids", "category ids", "raw pixels"
    consumer: str  # the layer or node that says so, in words

    def note(self, name: str, dtype: str) -> str:
        values = (f"[0, {self.bound - 1}]" if self.what == "raw pixels"
                  else f"[0, {self.bound})")
        drawn = ("" if np.dtype(dtype).kind in "iub"
                 else f"; drawn integer-valued in its declared {dtype}")
        return f"{name}: {self.what} in {values} (feeds {self.consumer}){drawn}"


# -- Keras (Keras 3 and tf_keras) -------------------------------------------------------------

def keras_domains(model) -> list[Domain | None]:
    """Per input of a Keras model, the domain its consumers say it has, or None."""
    return [_tensor_domain(tensor, depth=0) for tensor in model.inputs]


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    # Keras 3 names the layer that made a tensor ``operation``, tf_keras ``layer``.
    return (getattr(history, "operation", None) or getattr(history, "layer", None)
            if history is not None else None)


def _consumers(layer) -> list:
    found = []
    for node in getattr(layer, "_outbound_nodes", []):
        consumer = getattr(node, "operation", None) or getattr(node, "layer", None)
        if consumer is not None:
            found.append(consumer)
    return found


def _tensor_domain(tensor, depth: int) -> Domain | None:
    producer = _producer(tensor)
    return None if producer is None else _layer_domain(producer, depth)


def _layer_domain(layer, depth: int) -> Domain | None:
    """The domain the consumers of ``layer``'s output give it: the tightest token bound, else
    pixels."""
    if depth > 8:
        return None
    found = [d for d in (_consumer_domain(c, depth) for c in _consumers(layer)) if d]
    if not found:
        return None
    return min(found, key=lambda d: (d.what == "raw pixels", d.bound))


def _consumer_domain(layer, depth: int) -> Domain | None:
    kind = type(layer).__name__
    name = getattr(layer, "name", kind)
    if kind == "Embedding":
        return Domain(int(layer.input_dim), "token ids", f"Embedding {name!r}")
    if kind == "CategoryEncoding":
        return Domain(int(layer.num_tokens), "category ids", f"CategoryEncoding {name!r}")
    if kind == "Rescaling":
        return _pixels(layer, name)
    if kind in PASS_THROUGH:
        return _layer_domain(layer, depth + 1)
    inner = getattr(layer, "inputs", None)
    if getattr(layer, "layers", None) and inner and len(inner) == 1:
        return _tensor_domain(inner[0], depth + 1)  # a nested model with one input
    return None


def _pixels(layer, name: str) -> Domain | None:
    scale = getattr(layer, "scale", None)
    if not isinstance(scale, (int, float)) or scale <= 0:
        return None
    inverse = 1.0 / float(scale)
    if not PIXEL_INVERSE_SCALES[0] <= inverse <= PIXEL_INVERSE_SCALES[1]:
        return None
    return Domain(PIXEL_BOUND, "raw pixels", f"Rescaling {name!r}, scale 1/{inverse:g}")


@dataclass(frozen=True)
class Padding:
    """An input of sequences a layer masks where they hold ``value``: an ``Embedding`` with
    mask_zero (token 0), a ``Masking`` layer (timesteps whose every feature is its
    mask_value). Users feed such a model padded sequences, so a case draws them padded."""

    value: float
    consumer: str

    def note(self, name: str) -> str:
        return (f"{name}: sequences padded with {self.value:g}, which {self.consumer} masks "
                f"(rows padded at the end and at the start, one in three unpadded)")


def keras_paddings(model) -> list[Padding | None]:
    """Per input of a Keras model, the padding a masking consumer reads, or None."""
    return [_tensor_padding(tensor) for tensor in model.inputs]


def _tensor_padding(tensor) -> Padding | None:
    return first_reading(tensor, _consumer_padding, PASS_THROUGH - {"Masking"})


def first_reading(tensor, read, through: frozenset[str]):
    """What ``read`` makes of the first layer reading ``tensor`` that it says something of
    (None where it says nothing), looking past a single consumer of a kind in ``through``
    (layers that hand the values on: a Dropout in front of the layer that matters)."""
    layer, seen = _producer(tensor), 0
    while layer is not None and seen <= 8:
        found = [r for r in map(read, _consumers(layer)) if r is not None]
        if found:
            return found[0]
        passing = [c for c in _consumers(layer) if type(c).__name__ in through]
        layer, seen = (passing[0] if len(passing) == 1 else None), seen + 1
    return None


def _consumer_padding(layer) -> Padding | None:
    kind, name = type(layer).__name__, getattr(layer, "name", "")
    if kind == "Embedding" and getattr(layer, "mask_zero", False):
        return Padding(0.0, f"Embedding {name!r} (mask_zero)")
    if kind == "Masking":
        return Padding(float(getattr(layer, "mask_value", 0.0)), f"Masking {name!r}")
    return None


def padded(array: np.ndarray, padding: float, rng: np.random.Generator) -> np.ndarray:
    """``array`` (batch, time, ...) with rows padded along time as users pad them: the first
    row after its real steps (``pad_sequences(padding='post')``), the next before them (the
    default 'pre'), the third not at all, and so on; at least one real step a row."""
    if array.ndim < 2 or array.shape[1] < 2:
        return array
    out = array.copy()
    steps = array.shape[1]
    for row in range(array.shape[0]):
        real = int(rng.integers(1, steps))
        if row % 3 == 0:
            out[row, real:] = padding
        elif row % 3 == 1:
            out[row, :steps - real] = padding
    return out


# -- ONNX ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexNode:
    """A graph's node as ``index_domain`` reads it, its op in ONNX's spelling (a TF GatherV2,
    a TFLite GATHER are Gather) and ``label`` as the file names it."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    label: str
    # A Gather's table axes (one, or those a file that does not record it may mean: the
    # narrowest bounds); empty where the gather is not a plain one.
    axes: tuple[int, ...] = (0,)


def index_domain(nodes: list[IndexNode], tables: dict[str, tuple[int, ...]],
                 name: str) -> Domain | None:
    """The indices input ``name`` feeds to a Gather of a constant table (through a Cast, a
    Reshape..., and Keras 3's negative-index wrap): in range of the table's gathered axis,
    the narrowest where it feeds several."""
    tables = dict(tables)
    for node in nodes:  # a table read through an Identity (a frozen variable's ReadVariableOp)
        if node.op in ("Identity", "Cast") and node.inputs and node.inputs[0] in tables:
            tables.update((out, tables[node.inputs[0]]) for out in node.outputs)
    names = carried(nodes, name)
    found = []
    for node in nodes:
        if node.op != "Gather" or len(node.inputs) < 2 or node.inputs[1] not in names:
            continue
        table = tables.get(node.inputs[0])
        sizes = [table[axis] for axis in node.axes
                 if table and -len(table) <= axis < len(table) and table[axis] > 0]
        if sizes:
            found.append(Domain(int(min(sizes)), "indices", node.label))
    return min(found, key=lambda d: d.bound) if found else None


def carried(nodes: list[IndexNode], name: str) -> set[str]:
    """The tensors that hold input ``name``'s values, moved, repeated or joined to constants
    (and, where the graph compares it with Less, through Keras 3's negative-index wrap)."""
    names, wrapped = {name}, False
    for _ in range(16):
        more = set()
        for node in nodes:
            if not node.inputs:
                continue
            wrapped = wrapped or (node.op == "Less" and node.inputs[0] in names)
            joins = node.op in INDEX_JOIN or (wrapped and node.op in INDEX_WRAP)
            if (node.op in INDEX_PASS_THROUGH and node.inputs[0] in names) or (
                    joins and names.intersection(node.inputs)):
                more.update(node.outputs)
        if not more - names:
            break
        names |= more
    return names


def onnx_index_graph(model) -> tuple[list[IndexNode], dict[str, tuple[int, ...]]]:
    """An ONNX graph's nodes and the shapes of its initializers and constants, as
    ``index_domain`` and ``dequantized`` read them."""
    tables = {init.name: tuple(init.dims) for init in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                tables.update((out, tuple(value.dims)) for out in node.output)
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        named = node.name or (node.output[0] if node.output else "")
        nodes.append(IndexNode(node.op_type, tuple(node.input), tuple(node.output),
                               f"{node.op_type} {named!r}", (axis,)))
    return nodes, tables


def tf_label(name: str) -> str:
    """A TensorFlow node's name as its model's author wrote it, without the call wrappers a
    SavedModel's signature puts in front (``StatefulPartitionedCall/``)."""
    while name.startswith(("StatefulPartitionedCall/", "PartitionedCall/")):
        name = name.split("/", 1)[1]
    return name


def padding_masks(names: list[str], dtypes: list[str], shapes: list[tuple],
                  domains: list[Domain | None]) -> tuple[list[bool], list[str]]:
    """Per input, whether it is a tokenizer's padding mask (1 for a real token, 0 for
    padding), known by its name (``MASK_NAME``): an integer or boolean (batch, length) input
    that no consumer gives other values; and a note for each. Users feed such a model
    padded batches, so a case draws the mask as one: fair coins would mask tokens in the
    middle of a sentence, and a whole row now and then, which no tokenizer writes."""
    masks, notes = [], []
    for name, dtype, shape, domain in zip(names, dtypes, shapes, domains):
        mask = (domain is None and len(shape) == 2 and np.dtype(dtype).kind in "iub"
                and MASK_NAME.search(name.lower()) is not None)
        masks.append(mask)
        if mask:
            notes.append(f"{name}: a padding mask by its name: drawn as a tokenizer pads a "
                         f"batch, 1 for each real token and 0 for padding (rows padded at the "
                         f"end and at the start, one in three unpadded)")
    return masks, notes


# -- what a case draws -----------------------------------------------------------------------

def input_bounds(names: list[str], dtypes: list[str], domains: list[Domain | None],
                 int_fallback: int, quantized: list[bool] | None = None
                 ) -> tuple[list[int | None], list[str]]:
    """Per input, the exclusive bound it is drawn integer-valued below (None: N(0, 1)), and a
    note for each domain inferred. A quantized input (``quantized``: the file says so) is
    drawn over its type's whole range, before anything a consumer says; an integer input no
    consumer bounds below ``int_fallback``, a uint8 one over its whole range
    (``byte_bound``); a boolean one is a mask (fair coins)."""
    flags = quantized or [False] * len(names)
    bounds: list[int | None] = []
    notes = []
    for name, dtype, domain, flag in zip(names, dtypes, domains, flags):
        kind = np.dtype(dtype).kind
        if flag and quantized_bound(dtype):
            bounds.append(quantized_bound(dtype))
        elif domain is not None:
            bounds.append(domain.bound)
            notes.append(domain.note(name, dtype))
        elif kind == "b":
            bounds.append(MASK_BOUND)
        elif kind in "iu":
            bounds.append(byte_bound(dtype, name) or int_fallback)
            if byte_bound(dtype, name):
                notes.append(BYTES_NOTE.format(name=name))
        else:
            bounds.append(None)
    drawn_whole = [(n, d) for n, d, f in zip(names, dtypes, flags) if f and quantized_bound(d)]
    if drawn_whole:
        notes.append(quantized_note([n for n, _ in drawn_whole], [d for _, d in drawn_whole]))
    return bounds, notes


# A uint8 input no consumer bounds: an image's raw bytes, as a model with its preprocessing
# inside (a detector exported with its Cast and normalisation) takes them.
BYTES_NOTE = ("{name}: uint8, which no consumer bounds: drawn over the whole of [0, 255], as "
              "an image's raw bytes are")


def byte_bound(dtype: str, name: str) -> int | None:
    """A uint8 input's draw over its whole range (256), where nothing else bounds it and its
    name does not make it a padding mask: drawn below 2, raw pixels make a black image, on
    which a detector finds nothing every leg agrees on."""
    if np.dtype(dtype) != np.uint8 or MASK_NAME.search(name.lower()):
        return None
    return PIXEL_BOUND


# -- quantized inputs ------------------------------------------------------------------------

def quantized_bound(dtype: str) -> int | None:
    """A quantized input's draw over its type's whole range (2**bits; the draw is cast to the
    declared type, so a signed one wraps onto [-2**(bits-1), 2**(bits-1))); None for a type
    wider than 16 bits."""
    found = np.dtype(dtype)
    return 2 ** (8 * found.itemsize) if found.kind in "iu" and found.itemsize <= 2 else None


def quantized_note(names: list[str], dtypes: list[str]) -> str:
    """What a case does with quantized inputs, in words."""
    ranges = sorted({f"{np.dtype(d).name} [{np.iinfo(d).min}, {np.iinfo(d).max}]"
                     for d in dtypes})
    return (f"quantized inputs ({', '.join(names)}): drawn over the whole of "
            f"{', '.join(ranges)}, which the file's quantization maps onto the range it was "
            f"calibrated on")


def dequantized(nodes: list[IndexNode], name: str) -> bool:
    """Whether a graph input is quantized: read by a DequantizeLinear (through a Reshape, a
    Transpose...), as tf2onnx writes a fully int8 TFLite model's input."""
    names = carried(nodes, name)
    return any(node.op == "DequantizeLinear" and node.inputs and node.inputs[0] in names
               for node in nodes)
