"""The values an input is fed from a vocabulary, where the model says it: a Keras
``StringLookup`` or ``IntegerLookup`` reading the input (a structured-data model's categorical
feature: ``"thal"`` as ``"fixed"``, ``"normal"``, ``"reversible"``), or a
``TextVectorization`` (a text model's sentences, drawn as words of its vocabulary). A case draws such an
input from the vocabulary and one value outside it (the lookup's out-of-vocabulary path):
drawn below 2, an integer feature is out of vocabulary in every row, and a string one cannot
be drawn at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.sources.file.domains import PASS_THROUGH, first_reading

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
    if len(values) > MAX_VOCABULARY:
        values = [values[i] for i in np.linspace(0, len(values) - 1, MAX_VOCABULARY).astype(int)]
    consumer = f"{kind} {getattr(layer, 'name', '')!r}"
    if kind == "TextVectorization":
        sentences = getattr(layer, "_split", getattr(layer, "split", "whitespace")) is not None
        return Vocabulary(values, UNKNOWN_WORD if sentences else OUT_OF_VOCABULARY,
                          consumer, sentences)
    if kind == "StringLookup":
        return Vocabulary(values, OUT_OF_VOCABULARY, consumer)
    return Vocabulary(values, max(int(v) for v in values) + 1, consumer)


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


def onnx_vocabularies(names: list[str], dtypes: list[str],
                      readers: dict) -> list[Vocabulary | None]:
    """Per string input of an ONNX graph, the categories the first ai.onnx.ml node reading
    it knows (a scikit-learn pipeline's categorical column, as skl2onnx writes it), or None
    (``readers``: the nodes reading each tensor)."""
    return [next(filter(None, map(_categories, readers.get(name, []))), None)
            if np.dtype(dtype).kind == "O" else None for name, dtype in zip(names, dtypes)]


def _categories(node) -> Vocabulary | None:
    for attribute in node.attribute:
        if node.domain == "ai.onnx.ml" and attribute.name in INPUT_CATEGORIES:
            values = [_plain(v) for v in attribute.strings]
            if len(values) > MAX_VOCABULARY:
                values = [values[i] for i in
                          np.linspace(0, len(values) - 1, MAX_VOCABULARY).astype(int)]
            label = node.name or (node.output[0] if node.output else "")
            return Vocabulary(values, OUT_OF_VOCABULARY, f"{node.op_type} {label!r}") \
                if values else None
    return None
