"""A file's case: the spec(s) a user's file makes, and what reading a spec needs back (its
model, from the user's path or the golden copy, and its inputs)."""

from __future__ import annotations

import math
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.inputs import make_inputs
from harness.core.spec import LayerSpec
from harness.sources.file.detector import NAME, START, load
from harness.sources.file.dim_expressions import evaluate, expression
from harness.sources.file.domains import padded
from harness.sources.file.errors import FileError, UnsupportedFile
from harness.sources.file.fingerprint import digest
from harness.sources.file.inputs import load_inputs
from harness.sources.file.loaded import KERAS_STARTS, LoadedModel
from harness.sources.file.safety import MAX_DRAWN_INPUT_BYTES, MB
from harness.sources.file.spreads import spread_draw
from harness.sources.file.state import reset_note, second_call_note
from harness.sources.file.store import golden_copy
from harness.sources.file.vocabularies import vocabulary_draw

# Sizes a free dimension runs at: the case's own, then a second one (by input rank). The
# second is a function of the first, so that dimensions alike at the first run (a (b, s, d)
# sequence and its (b, s) mask, both 8) stay alike at the second (13).
FREE_SIZES = {3: (8, 13), 4: (64, 96), 5: (16, 24)}
DEFAULT_FREE_SIZES = (8, 13)
FREE_BATCH = (4, 1)
# Per input, the value a masking layer reads as padding, or null (LoadedModel.paddings).
PADDED_INPUTS = "padded_inputs"
# Per input, whether it is a padding mask (LoadedModel.masks): drawn as a padded batch's.
MASK_INPUTS = "mask_inputs"
# Per input, the scale its float values are fed on (LoadedModel.spreads), or null.
SPREAD_INPUTS = "spread_inputs"
# Per input, the vocabulary a lookup reading it knows (LoadedModel.vocabularies), or null.
VOCABULARY_INPUTS = "vocabulary_inputs"


def concrete_sizes(shapes: list[tuple[int | None, ...]],
                   dim_names: list[tuple[str | None, ...]] | None = None
                   ) -> list[list[tuple[int, ...]]]:
    """The input shapes a case runs at: one set, or two where a dimension is free (the batch
    at 4 then 1, other free dimensions at two sizes by input rank, sizes equal at the first
    run equal at the second). Free dimensions the file names alike (``dim_names``: an ONNX
    graph's ``sequence`` in its ``input_ids`` and in its ``attention_mask``) are one size,
    the one their first input's rule gives, as the model reads them together; a name that is
    arithmetic over such names (a decoder's ``past_sequence_length + sequence_length`` mask)
    takes the size it computes."""
    names = dim_names or []
    runs = []
    for which in (0, 1):
        named: dict[str, int] = {}
        for computed in (False, True):  # every name's size first, then arithmetic over them
            run = [_sizes(shape, names[index] if index < len(names) else (), which, named,
                          computed=computed) for index, shape in enumerate(shapes)]
        runs.append(run)
    if runs[0] == runs[1]:
        return runs[:1]
    return runs


def _sizes(shape, shape_names, which: int, named: dict[str, int], *,
           computed: bool) -> tuple[int, ...]:
    """One input's sizes at run ``which``: a free dimension's by its rule, by the size of its
    name in ``named`` (set by the first input that has it), or, where ``computed``, by the
    arithmetic its name spells over names that have their sizes."""
    rule = FREE_SIZES.get(len(shape), DEFAULT_FREE_SIZES)
    dims = []
    for axis, d in enumerate(shape):
        if d is not None:
            dims.append(int(d))
            continue
        size = FREE_BATCH[which] if axis == 0 else rule[which]
        name = shape_names[axis] if axis < len(shape_names) else None
        tree = expression(name) if name else None
        if tree is not None:
            size = (evaluate(tree, named) if computed else None) or named.setdefault(name, size)
        elif name:
            size = named.setdefault(name, size)
        dims.append(size)
    return tuple(dims)


def file_specs(path: str | Path, *, weights: str | Path | None = None,
               inputs: dict[str, Any] | None = None, seed: int = 0,
               outputs: list[str] | None = None,
               max_input_bytes: int = MAX_DRAWN_INPUT_BYTES,
               signature: str | None = None) -> list[LayerSpec]:
    """The case(s) of a user's file: one per set of input sizes (two where a dimension is
    free), or one on the user's own inputs (``inputs``: {"path", "sha256", "shapes",
    "dtypes", ...} as ``harness.check.data`` describes them); ``outputs`` names the outputs
    of a ``.mat`` network to check. A drawn input above ``max_input_bytes`` is refused before
    it is made."""
    loaded = load(path, weights, outputs=outputs, signature=signature)
    path = loaded.path
    attrs: dict[str, Any] = {
        "path": str(path),
        "sha256": digest(path),
        "input_names": loaded.input_names,
        "input_dtypes": loaded.input_dtypes,
        "free": [[i for i, d in enumerate(s) if d is None] for s in loaded.input_shapes],
    }
    if loaded.start != START[loaded.kind]:
        attrs["start"] = loaded.start
    if weights is not None:
        attrs["weights"] = str(Path(weights).resolve())
        attrs["weights_sha256"] = digest(weights)
    if outputs:
        attrs["outputs"] = list(outputs)
    if signature is not None:
        attrs["signature"] = signature
    if loaded.layers and loaded.start in KERAS_STARTS:
        attrs["layers"] = loaded.layers
    if any(b is not None for b in loaded.int_bounds):
        attrs["int_inputs"] = loaded.int_bounds
    if any(p is not None for p in loaded.paddings):
        attrs[PADDED_INPUTS] = loaded.paddings
    if any(loaded.masks):
        attrs[MASK_INPUTS] = loaded.masks
    if any(loaded.spreads):
        attrs[SPREAD_INPUTS] = loaded.spreads
    if any(loaded.vocabularies):
        attrs[VOCABULARY_INPUTS] = loaded.vocabularies
    dtype = loaded.precision or next(
        (d for d in loaded.input_dtypes if np.dtype(d).kind == "f"), "float32")
    if inputs is not None:
        attrs["inputs"] = {k: v for k, v in inputs.items() if k not in ("arrays",)}
        shapes = [tuple(s) for s in inputs["shapes"]]
        _check_user_shapes(loaded, shapes, inputs.get("origin", "--inputs"))
        spec = LayerSpec(loaded.kind, attrs, tuple(shapes), dtype, seed, source=NAME)
        _note_state(loaded, spec)
        return [spec]
    if loaded.undrawable is not None:
        raise UnsupportedFile(path, loaded.undrawable)
    runs = concrete_sizes(loaded.input_shapes, loaded.dim_names)
    for run in runs:
        _check_drawn_size(loaded, run, max_input_bytes)
    attrs["sizes"] = [[list(s) for s in run] for run in runs]
    specs = [LayerSpec(loaded.kind, attrs, tuple(run), dtype, seed, source=NAME) for run in runs]
    _note_state(loaded, specs[0])
    return specs


def _note_state(loaded: LoadedModel, spec: LayerSpec) -> None:
    """What parity does about a stateful model, said once however often its case is made."""
    said = reset_note(loaded)
    if said is None or said in loaded.notes:
        return
    loaded.notes.append(said)
    try:
        found = second_call_note(loaded, case_inputs(spec))
    except Exception:  # noqa: BLE001  (the model refuses these inputs: its reading says so)
        found = None
    if found is not None:
        loaded.notes.append(found)


def _check_drawn_size(loaded: LoadedModel, shapes, limit: int) -> None:
    """Refuses, before allocating it, a drawn input larger than ``limit`` bytes: a model
    whose input declares a dimension of 2,147,483,647 is met with a line, not an
    allocation that can take the machine down."""
    for name, shape, dtype in zip(loaded.input_names, shapes, loaded.input_dtypes):
        itemsize = np.dtype(dtype).itemsize if np.dtype(dtype).kind != "O" else 8
        size = math.prod(int(d) for d in shape) * itemsize  # Python ints: no overflow
        if size <= limit:
            continue
        axis = max(range(len(shape)), key=lambda i: int(shape[i]))
        raise FileError(loaded.path, (
            f"input {name!r} declares dimension {axis} as {shape[axis]:,} (shape "
            f"{'x'.join(map(str, shape))}, {dtype}): drawn, it would take "
            f"{size / MB:,.0f} MB, above the {limit / MB:,.0f} MB parity draws an input up "
            f"to; raise the limit with --max-input-mb MB, or give inputs with --inputs "
            f"FILE.npz"))


def _check_user_shapes(loaded: LoadedModel, shapes, origin: str) -> None:
    if len(shapes) != len(loaded.input_shapes):
        raise FileError(origin, f"holds {len(shapes)} input(s); the model takes "
                                f"{len(loaded.input_shapes)} ({', '.join(loaded.input_names)})")
    for name, shape, wanted in zip(loaded.input_names, shapes, loaded.input_shapes):
        fits = name in loaded.any_rank or (len(shape) == len(wanted) and all(
            w is None or w == s for s, w in zip(shape, wanted)))
        if not fits:
            wanted_text = "x".join("?" if d is None else str(d) for d in wanted)
            raise FileError(origin, f"input {name!r} has shape "
                                    f"{'x'.join(map(str, shape))}; the model takes "
                                    f"{wanted_text}")


def second_spec(spec: LayerSpec) -> LayerSpec | None:
    sizes = spec.attrs.get("sizes") or []
    if len(sizes) < 2:
        return None
    return replace(spec, input_shapes=tuple(tuple(s) for s in sizes[1]))


def case_inputs(spec: LayerSpec) -> list[np.ndarray]:
    """The case's inputs: the user's arrays, or seeded draws (N(0, 1) clipped to ±4 for float
    inputs, uniform below the indexed table's size for integer ones) in the model's dtypes."""
    attrs = spec.attrs
    dtypes = attrs.get("input_dtypes") or [spec.dtype] * len(spec.input_shapes)
    user = attrs.get("inputs")
    arrays = (load_inputs(user) if user is not None
              else _padded(spec, _as_the_model_reads(spec, make_inputs(spec))))
    # np.asarray with order="C", not np.ascontiguousarray, which makes a 0-d input 1-d.
    return [np.asarray(x, dtype=d, order="C") for x, d in zip(arrays, dtypes)]


def _as_the_model_reads(spec: LayerSpec, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Drawn float inputs on the scale the model standardises them from (its
    Normalization's mean and deviation), and inputs a lookup reads drawn from its
    vocabulary (a stream of their own), where the model says so."""
    spreads = spec.attrs.get(SPREAD_INPUTS) or []
    vocabularies = spec.attrs.get(VOCABULARY_INPUTS) or []
    rng = np.random.default_rng([spec.seed, zlib.crc32(VOCABULARY_INPUTS.encode())])
    out = []
    for i, x in enumerate(arrays):
        if i < len(vocabularies) and vocabularies[i]:
            x = vocabulary_draw(x, vocabularies[i], rng)
        elif i < len(spreads) and spreads[i] and x.dtype.kind == "f":
            x = spread_draw(x, spreads[i])
        out.append(x)
    return out


def _padded(spec: LayerSpec, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Drawn inputs that a masking layer reads, padded as its users pad them, and padding
    masks drawn as a padded batch's (a stream of their own: the other draws are those of a
    model without the masking)."""
    paddings = spec.attrs.get(PADDED_INPUTS) or []
    masks = spec.attrs.get(MASK_INPUTS) or []
    rng = np.random.default_rng([spec.seed, zlib.crc32(PADDED_INPUTS.encode())])
    out = []
    for i, x in enumerate(arrays):
        if i < len(masks) and masks[i]:
            x = padded(np.ones_like(x), 0, rng)
        elif i < len(paddings) and paddings[i] is not None:
            x = padded(x, paddings[i], rng)
        out.append(x)
    return out


def loaded_for(spec: LayerSpec, folder: Path | None = None) -> LoadedModel:
    """The spec's model, read from its path; where that file is gone or changed, from the
    copy a golden case of this spec holds."""
    attrs = spec.attrs
    path = Path(attrs["path"])
    weights = attrs.get("weights")
    candidates = [(path, None if weights is None else Path(weights))]
    copy = golden_copy(spec, folder)
    if copy is not None:
        candidates.append(copy)
    for model_path, weights_path in candidates:
        if model_path.exists() and digest(model_path) == attrs["sha256"]:
            return load(model_path, weights_path, spec.kind, attrs["sha256"],
                        attrs.get("outputs"), attrs.get("signature"))
    if path.exists():
        raise FileError(path, f"changed since the case was made (sha256 "
                              f"{attrs['sha256'][:12]}... expected); check the file again")
    raise FileError(path, "no such file, and no golden case holds a copy of it")


def own_inputs_hint(spec: LayerSpec, inputs: list[np.ndarray]) -> str:
    """What to give where the model refuses the inputs parity drew: ``--inputs`` with an
    array per input, named, shaped and typed as the model takes it."""
    if spec.attrs.get("inputs") is not None:
        return ""  # the user's own inputs already
    sizes = [[tuple(shape) for shape in run] for run in spec.attrs.get("sizes") or []]
    if len(sizes) > 1 and list(spec.input_shapes) == sizes[1]:
        first = ", ".join("x".join(map(str, shape)) for shape in sizes[0])
        return (f"; it ran at {first}, drawn alike: a dimension the file declares free is "
                f"likely fixed inside the model (a size its exporter traced), and whoever feeds "
                f"it this size meets the same")
    names = spec.attrs.get("input_names") or [f"input_{i}" for i in range(len(inputs))]
    arrays = ", ".join(f"{name!r} {'x'.join(map(str, x.shape))} {x.dtype}"
                       for name, x in zip(names, inputs))
    # A traced size baked into a Reshape fails here as a wrong value would.
    unknown = ("the sizes its free dimensions run at or the values"
               if any(spec.attrs.get("free") or []) else "the values")
    return (f"; parity drew these inputs, and cannot tell {unknown} the model expects: give "
            f"inputs it runs on with --inputs FILE.npz, one array per input ({arrays})")
