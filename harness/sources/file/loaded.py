"""A model read from a file, and what a case needs to know of it: the same record whatever
the format, filled by the format's loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# The artifact formats a file reads to that are not a file format's own name.
KERAS2_START = "tf_keras"
PLAIN_SAVEDMODEL_START = "savedmodel"
KERAS_STARTS = ("keras", KERAS2_START)  # a Keras model: layers, diagnosis, float64 twin

DEFAULT_INT_BOUND = 2  # what an integer input is drawn below when nothing bounds it


@dataclass
class LoadedModel:
    """A model read from a file, and what a case needs to know of it."""

    path: Path
    kind: str  # the file's format (FORMATS)
    start: str  # the artifact format it reads to
    model: Any  # a Keras 3 model, an ONNX ModelProto, a loaded SavedModel, a mat Network
    input_names: list[str]  # the model's own names for its inputs
    input_shapes: list[tuple[int | None, ...]]  # None where a dimension is free
    input_dtypes: list[str]
    weights: Path | None = None
    legacy: Any = None  # the tf_keras model a Keras-2 file was read as (the reference)
    layers: list[dict[str, Any]] = field(default_factory=list)  # {kind, attrs} (Keras)
    int_bounds: list[int | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    owner: Any = field(default=None, repr=False)  # temporary files the model needs
    # Why parity cannot draw the inputs (and what to give instead); None where it can.
    undrawable: str | None = None
    # The inputs that declare no shape at all (any rank): --inputs may give them any shape.
    any_rank: tuple[str, ...] = ()
    what: str = "a model"  # the model in words ("a Keras-2 HDF5 model")
    unit: str = "layers"  # what its ``layers`` are in words ("nodes" of an ONNX graph)
    # A plain SavedModel's chosen signature (harness.converters.savedmodel_signature).
    signature: Any = None
    # The dtype the model computes in where its float inputs do not say it: mixed_float16
    # (mixed_bfloat16) for float32 inputs into layers or nodes that compute in float16
    # (bfloat16). The case's dtype, and so its tolerance and the known issues that name it.
    precision: str | None = None
    # Per input, the value a masking layer reads as padding (harness.sources.file.domains.
    # Padding), or None: the case draws such an input as padded sequences.
    paddings: list[float | None] = field(default_factory=list)
    # Per input, whether it is a padding mask (harness.sources.file.domains.padding_masks):
    # the case draws it as a tokenizer pads a batch.
    masks: list[bool] = field(default_factory=list)
    # Per input, the scale its float values are fed on (harness.sources.file.spreads.Spread's
    # attr: mean and std), or None: the case draws it mean + std × N(0, 1).
    spreads: list[dict | None] = field(default_factory=list)
    # Per input, the values a lookup reading it knows (harness.sources.file.vocabularies.
    # Vocabulary's attr), or None: the case draws it from them and one it does not know.
    vocabularies: list[dict | None] = field(default_factory=list)
    # Per input, per dimension, the name the file gives a free dimension (an ONNX
    # dim_param), or None: every free dimension of one name takes one size.
    dim_names: list[tuple[str | None, ...]] = field(default_factory=list)

    def describe(self) -> str:
        # A Keras model's list starts with the model itself (see keras_files.keras_loaded).
        number = len(self.layers) - (1 if self.start in KERAS_STARTS else 0)
        count = f", {number} {self.unit}" if self.layers else ""
        return f"{self.what}{count}; inputs {shapes_text(self.input_shapes)}"


def mixed_precision(input_dtypes: list[str], computed: set[str]) -> str | None:
    """``mixed_float16`` (``mixed_bfloat16``) where a model whose float inputs are float32 (or
    that has none) computes some of its work in ``computed`` float16 (bfloat16); None where
    its inputs' dtype already says how it computes."""
    if any(d in ("float16", "bfloat16", "float64") for d in input_dtypes):
        return None
    return next((f"mixed_{half}" for half in ("float16", "bfloat16") if half in computed), None)


def shapes_text(shapes) -> str:
    """Input shapes in words: ``?x3x64x64, 4`` (``?`` a free dimension), ``scalar`` for a
    0-d input, ``none`` for a model that takes none."""
    if not shapes:
        return "none"
    return ", ".join("x".join("?" if d is None else str(d) for d in shape) or "scalar"
                     for shape in shapes)


def wanted_arrays(names, shapes, dtypes, any_rank=()) -> str:
    """The arrays --inputs must hold, in words: ``'x' ?x3 float32, 'city' ?x1 str``."""
    return ", ".join(
        f"{name!r} {'any shape' if name in any_rank else shapes_text([shape])} "
        f"{'str' if np.dtype(dtype).kind == 'O' else dtype}"
        for name, shape, dtype in zip(names, shapes, dtypes))


def strings_undrawable(names, shapes, dtypes, known: str = "", drawn=()) -> str | None:
    """Why parity cannot draw the inputs of a model that takes strings (dtype object), and
    the arrays --inputs must hold; ``known``: the strings the model is known to expect, in
    words; ``drawn``: per input, whether parity draws it all the same (from a vocabulary).
    None where every string input is drawn."""
    drawn = [*drawn, *[None] * (len(names) - len(drawn))]
    text = [n for n, d, v in zip(names, dtypes, drawn) if np.dtype(d).kind == "O" and not v]
    if not text:
        return None
    return (f"input {text[0]!r} takes strings, which parity does not draw: it cannot tell "
            f"which strings the model expects" + (f" ({known})" if known else "")
            + f"; give inputs it runs on with --inputs FILE.npz, one array per input "
              f"({wanted_arrays(names, shapes, dtypes)}; strings as a NumPy str array, ? any "
              f"size)")
