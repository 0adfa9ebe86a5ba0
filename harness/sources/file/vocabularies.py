"""The values an input is fed from a vocabulary, where the model says it: a Keras
``StringLookup`` or ``IntegerLookup`` reading the input (a structured-data model's categorical
feature: ``"thal"`` as ``"fixed"``, ``"normal"``, ``"reversible"``), or a
``TextVectorization`` (a text model's sentences, drawn as words of its vocabulary), or, in a
graph without Keras' layers (a Keras 3 ``model.export`` SavedModel), the hash table a
``LookupTableFindV2`` reads the input from. A case draws such an
input from the vocabulary and one value outside it (the lookup's out-of-vocabulary path):
drawn below 2, an integer feature is out of vocabulary in every row, and a string one cannot
be drawn at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.sources.file.domains import PASS_THROUGH, first_reading, tf_label

# Beyond this many values, a vocabulary is kept to this many evenly spaced ones (it travels
# in the case's JSON).
MAX_VOCABULARY = 256
# The value a drawn string input takes outside its vocabulary.
OUT_OF_VOCABULARY = "[parity: not in the vocabulary]"
# A word a drawn sentence holds outside its vocabulary (lower case, no punctuation: a
# TextVectorization's standardisation keeps it one token).
UNKNOWN_WORD = "parityunknownword"
LOOKUPS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization"})
# A drawn sentence's words: 1 to this many.
MAX_WORDS = 8


@dataclass(frozen=True)
class Vocabulary:
    """The values a lookup reading an input knows, and one it does not."""

    values: list
    unknown: object
    consumer: str
    sentences: bool = False  # each value a sentence of the vocabulary's words

    def note(self, name: str) -> str:
        shown = ", ".join(repr(v) for v in self.values[:5])
        more = f", ... ({len(self.values)} in all)" if len(self.values) > 5 else ""
        drawn = (f"sentences of 1 to {MAX_WORDS} words" if self.sentences else "drawn")
        return (f"{name}: {drawn} from the vocabulary of {self.consumer} ({shown}{more}), "
                f"and {self.unknown!r}, which it does not hold (its out-of-vocabulary path)")

    def attr(self) -> dict:
        return {"values": self.values, "unknown": self.unknown,
                **({"sentences": True} if self.sentences else {})}


def keras_vocabularies(model) -> list[Vocabulary | None]:
    """Per input of a Keras model, the vocabulary a lookup reading it holds, or None."""
    return [first_reading(tensor, _lookup, PASS_THROUGH - {"Masking"})
            for tensor in model.inputs]


def _lookup(layer) -> Vocabulary | None:
    kind = type(layer).__name__
    # An inverting lookup reads indices, not the vocabulary's values.
    if kind not in LOOKUPS or getattr(layer, "invert", False):
        return None
    try:
        known = list(layer.get_vocabulary(include_special_tokens=False))
    except Exception:  # noqa: BLE001  (a lookup never adapted holds no vocabulary)
        return None
    special = {getattr(layer, "oov_token", None), getattr(layer, "mask_token", None)}
    values = [_plain(v) for v in known if _plain(v) not in special]
    if not values:
        return None
    values = _kept(values)
    consumer = f"{kind} {getattr(layer, 'name', '')!r}"
    if kind == "TextVectorization":
        sentences = getattr(layer, "_split", getattr(layer, "split", "whitespace")) is not None
        return Vocabulary(values, UNKNOWN_WORD if sentences else OUT_OF_VOCABULARY,
                          consumer, sentences)
    if kind == "StringLookup":
        return Vocabulary(values, OUT_OF_VOCABULARY, consumer)
    return Vocabulary(values, max(int(v) for v in values) + 1, consumer)


def _kept(values: list) -> list:
    """``values``, or MAX_VOCABULARY of them evenly spaced where there are more."""
    if len(values) <= MAX_VOCABULARY:
        return values
    return [values[i] for i in np.linspace(0, len(values) - 1, MAX_VOCABULARY).astype(int)]


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if isinstance(value, np.generic) else value


def vocabulary_draw(x: np.ndarray, found: dict, rng: np.random.Generator) -> np.ndarray:
    """An array of ``x``'s shape drawn from ``found``'s values and its unknown one (a
    Vocabulary's attr): strings in an object array, integers as int64 (the case casts both
    to the input's declared dtype)."""
    choices = [*found["values"], found["unknown"]]
    out = np.empty(x.shape, dtype=object)
    if found.get("sentences"):
        lengths = rng.integers(1, MAX_WORDS + 1, out.size)
        out.reshape(-1)[:] = [" ".join(str(choices[i]) for i in rng.integers(0, len(choices), n))
                              for n in lengths]
        return out
    picked = rng.integers(0, len(choices), x.shape)
    out.reshape(-1)[:] = [choices[i] for i in picked.reshape(-1)]
    return out if any(isinstance(c, str) for c in choices) else out.astype(np.int64)


# -- ONNX ------------------------------------------------------------------------------------

# Attributes by which an ai.onnx.ml node reading a string input names the strings it knows
# (CategoryMapper's and OneHotEncoder's categories, LabelEncoder's keys).
INPUT_CATEGORIES = ("cats_strings", "keys_strings")


# Nodes that hand a string column on to the node that knows its categories: a normaliser
# (lower case, as skl2onnx writes a text column's) or a reshape.
ONNX_STRING_PASS_THROUGH = frozenset({"StringNormalizer", "Identity", "Reshape", "Flatten",
                                      "Squeeze", "Unsqueeze"})


def onnx_vocabularies(names: list[str], dtypes: list[str],
                      readers: dict) -> list[Vocabulary | None]:
    """Per string input of an ONNX graph, the categories the first ai.onnx.ml node reading
    it knows (a scikit-learn pipeline's categorical column, as skl2onnx writes it; through a
    StringNormalizer or a reshape), or None (``readers``: the nodes reading each tensor)."""
    return [_reading_categories(name, readers) if np.dtype(dtype).kind == "O" else None
            for name, dtype in zip(names, dtypes)]


def _reading_categories(name: str, readers: dict, depth: int = 0) -> Vocabulary | None:
    for node in readers.get(name, []):
        found = _categories(node)
        if found is None and node.op_type in ONNX_STRING_PASS_THROUGH and node.domain in (
                "", "ai.onnx") and node.output and depth < 8:
            found = _reading_categories(node.output[0], readers, depth + 1)
        if found is not None:
            return found
    return None


def _categories(node) -> Vocabulary | None:
    for attribute in node.attribute:
        if node.domain == "ai.onnx.ml" and attribute.name in INPUT_CATEGORIES:
            values = [_plain(v) for v in attribute.strings]
            values = _kept(values)
            label = node.name or (node.output[0] if node.output else "")
            return Vocabulary(values, OUT_OF_VOCABULARY, f"{node.op_type} {label!r}") \
                if values else None
    return None


# -- TensorFlow graphs -----------------------------------------------------------------------

# Ops that hand a string's or an integer's value on to a lookup: Keras' lookups and a
# TextVectorization's standardisation as a SavedModel's graph holds them.
TF_VALUE_PASS_THROUGH = frozenset({"Identity", "StringLower", "StringUpper", "StringStrip",
                                   "StaticRegexReplace", "RegexReplace", "Reshape",
                                   "ExpandDims", "Squeeze", "Cast"})
# Ops whose output at this index holds their input's words (a TextVectorization's split).
TF_WORDS = {"StringSplitV2": 1, "StringSplit": 1}
TF_LOOKUPS = frozenset({"LookupTableFindV2", "LookupTableFind"})


def tf_vocabularies(graph, names: list[str], export) -> list[Vocabulary | None]:
    """Per input tensor of a frozen ``tf.Graph``, the keys of the first hash table a lookup
    reads its values from (through a cast, a reshape, a string standardisation; as words
    where a split comes first), or None. ``export(handle, key_dtype, value_dtype)`` gives a
    table's keys and values from the graph's handle tensor to it, or None."""
    return [_tf_vocabulary(graph, name, export) for name in names]


def _tf_vocabulary(graph, name: str, export) -> Vocabulary | None:
    try:
        frontier = [(graph.get_tensor_by_name(name), False)]
    except (KeyError, ValueError):
        return None
    seen = set()
    while frontier:
        tensor, words = frontier.pop(0)
        if tensor.name in seen or len(seen) > 64:
            continue
        seen.add(tensor.name)
        for op in tensor.consumers():
            if op.type in TF_LOOKUPS and len(op.inputs) > 1 and op.inputs[1] is tensor:
                found = _table_vocabulary(op, export, words)
                if found is not None:
                    return found
            elif op.type in TF_VALUE_PASS_THROUGH and op.inputs[0] is tensor:
                frontier.append((op.outputs[0], words))
            elif op.type in TF_WORDS and op.inputs[0] is tensor:
                frontier.append((op.outputs[TF_WORDS[op.type]], True))
    return None


def _table_vocabulary(op, export, words: bool) -> Vocabulary | None:
    handle = op.inputs[0]
    while handle.op.type == "Identity" and handle.op.inputs:
        handle = handle.op.inputs[0]
    table = export(handle.name, op.get_attr("Tin"), op.get_attr("Tout"))
    if table is None:
        return None
    keys, values = (np.asarray(a).reshape(-1) for a in table)
    # The table's own order is a hash's; the vocabulary's is that of the indices it gives.
    order = sorted(range(len(keys)), key=lambda i: (_plain(values[i]), _plain(keys[i])))
    known = [_plain(keys[i]) for i in order]
    known = [k for k in known if k != ""]
    if not known or not all(isinstance(k, (str, int)) for k in known):
        return None
    known = _kept(known)
    label = tf_label(op.name.removesuffix(f"/{op.type}"))
    consumer = f"the hash table {label!r}"
    if isinstance(known[0], str):
        return Vocabulary(known, UNKNOWN_WORD if words else OUT_OF_VOCABULARY, consumer, words)
    return Vocabulary(known, max(known) + 1, consumer)
