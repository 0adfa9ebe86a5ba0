"""Reading Keras models from files, shared by the Keras formats (.keras, .h5, an
architecture JSON, a Keras SavedModel): Keras 3 with safe_mode and tf_keras in its safe-mode
scope, each after the configuration is scanned (harness.sources.file.safety), and what a case
needs to know of the model read."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters.saved_formats import (
    SavedFormatError,
    load_keras_file,
    unregistered_object,
    unregistered_text,
)
from harness.runtimes.keras_custom import register_custom_objects, register_user_objects
from harness.sources.file.domains import (
    input_bounds,
    keras_domains,
    keras_paddings,
    padding_masks,
)
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.head import hdf5_offset, read_head
from harness.sources.file.loaded import (
    DEFAULT_INT_BOUND,
    KERAS2_START,
    LoadedModel,
    mixed_precision,
    strings_undrawable,
)
from harness.sources.file.safety import (
    MAX_CONFIG_BYTES,
    MB,
    scan_keras2_config,
    scan_keras3_config,
)
from harness.sources.file.spreads import keras_spreads
from harness.sources.file.vocabularies import keras_vocabularies


def register_known_objects() -> None:
    """The classes parity defines itself (its custom layers and activations) and the user's
    (``--custom-objects``) are the ones a file may name beyond Keras' own: in Keras 3, and in
    tf_keras once a Keras-2 reader has imported it."""
    register_custom_objects()
    if "tf_keras" in sys.modules:
        register_user_objects("tf_keras")


# -- Keras 3 ---------------------------------------------------------------------------------

def keras_archive_config(path: Path) -> Any:
    """A .keras archive's config.json, read within MAX_CONFIG_BYTES."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise FileError(path, f"its config.json holds {info.file_size / MB:.0f} MB")
            return json.loads(archive.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise FileError(path, f"a damaged .keras archive ({first_line(exc)})") from None


def load_keras3(path: Path, kind: str, config: Any, what: str,
                suffix: str = ".keras") -> LoadedModel:
    """A file Keras 3 reads (a .keras archive, a Keras 3 .h5): read with safe_mode after its
    configuration is scanned. Keras picks its reader by the name's ``suffix``, which a file
    routed by its content may not carry."""
    register_known_objects()
    scan_keras3_config(path, config)
    readable, owner = named_for_reader(path, suffix)
    try:
        model = load_keras_file(readable)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).removeprefix(f"{readable}: ")) from None
    return keras_loaded(path, kind, model, what, owner=owner)


def named_for_reader(path: Path, suffix: str) -> tuple[Path, Any]:
    """``path`` under a name ending in ``suffix`` (a link in a temporary folder where its own
    name does not), and the folder to keep while the model is read."""
    if path.suffix.lower() == suffix:
        return path, None
    owner = tempfile.TemporaryDirectory(prefix="parity-file-")
    named = Path(owner.name) / f"model{suffix}"
    try:
        named.symlink_to(path)
    except OSError:  # no links here (some Windows set-ups): a copy
        shutil.copyfile(path, named)
    return named, owner


# -- Keras 2 (tf_keras) ----------------------------------------------------------------------

def load_tf_keras(path: Path, kind: str, config: Any, read: Callable[[Any, Path], Any],
                  what: str, weights: Path | None = None, notes: list[str] | None = None,
                  suffix: str | None = None) -> LoadedModel:
    """A Keras-2 file read by tf_keras: the reference, and where its paths start. ``read``
    builds the model from the tf_keras module and the file's path (named with ``suffix``,
    by which tf_keras picks its reader), inside its safe-mode scope, after ``config`` is
    scanned."""
    import tf_keras
    from tf_keras.src.saving import serialization_lib

    register_known_objects()
    scan_keras2_config(path, config)
    readable, owner = (path, None) if suffix is None else named_for_reader(path, suffix)
    try:
        with serialization_lib.SafeModeScope(True):
            legacy = read(tf_keras, readable)
    except Exception as exc:  # noqa: BLE001  (tf_keras raises anything on a bad file)
        missing = unregistered_object(str(exc))
        if missing is not None:
            raise UnsupportedFile(path, "tf_keras cannot read this Keras-2 model: "
                                  + unregistered_text(*missing, keras="tf_keras")) from None
        raise FileError(path, f"tf_keras cannot read this Keras-2 model "
                              f"({type(exc).__name__}: {first_line(exc)})") from None
    if weights is not None:
        load_legacy_weights(legacy, weights)
    return keras_loaded(path, kind, legacy, what, weights, legacy, notes or [], owner,
                        start=KERAS2_START)


def load_legacy_weights(legacy, weights: Path) -> None:
    if hdf5_offset(read_head(weights)) is None:
        raise FileError(weights, "the weights file is not HDF5 (Keras-2 weights are .h5)")
    try:
        legacy.load_weights(str(weights))
    except Exception as exc:  # noqa: BLE001
        raise FileError(weights, f"these weights do not fit the architecture "
                                 f"({type(exc).__name__}: {first_line(exc)})") from None


def h5_model_config(path: Path) -> Any:
    """A whole-model HDF5 file's ``model_config`` attribute, within MAX_CONFIG_BYTES."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs["model_config"]
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"cannot read the model_config attribute "
                              f"({first_line(exc)})") from None
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    if len(text) > MAX_CONFIG_BYTES:
        raise FileError(path, "its model_config attribute is too large")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileError(path, f"its model_config is not valid JSON ({exc})") from None


# -- the model read --------------------------------------------------------------------------

def keras_loaded(path: Path, kind: str, model, what: str, weights=None, legacy=None,
                 notes=(), owner=None, start: str = "keras") -> LoadedModel:
    """A Keras model read from a file: Keras 3's (``start`` keras) or tf_keras' (``start``
    tf_keras, ``legacy`` the same model)."""
    if not getattr(model, "inputs", None):
        raise FileError(path, "the model has no inputs: it was saved before it was built "
                              "(a Sequential without an input shape); build it on an input "
                              "shape and save it again")
    names = [_input_layer_name(t, i) for i, t in enumerate(model.inputs)]
    shapes = [tuple(None if d is None else int(d) for d in t.shape) for t in model.inputs]
    dtypes = [str(getattr(t.dtype, "name", t.dtype)) for t in model.inputs]
    for name, dtype in zip(names, dtypes):
        try:
            numeric = np.dtype(dtype).kind in "fiub"
        except TypeError:
            numeric = False
        if not numeric and dtype != "string":
            raise UnsupportedFile(path, f"input {name!r} takes {dtype} values; parity draws "
                                        f"numbers")
    dtypes = ["object" if d == "string" else d for d in dtypes]
    # The model itself first, in the words drawn model cases use, so that known issues
    # and tolerance rules about a model kind (a Sequential) apply to the file too.
    api = {"Sequential": {"api": "sequential"}}.get(type(model).__name__, {})
    layers = [{"kind": type(model).__name__, "attrs": api}]
    layers += [{"kind": type(layer).__name__, "attrs": _layer_attrs(layer)}
               for layer in _flat_layers(model)]
    domains = keras_domains(model)
    bounds, inferred = input_bounds(names, dtypes, domains, _embedding_bound(model))
    paddings = keras_paddings(model)
    inferred += [p.note(name) for name, p in zip(names, paddings) if p is not None]
    masks, masked = padding_masks(names, dtypes, shapes, domains)
    inferred += masked
    spreads = [None if bound is not None else found
               for bound, found in zip(bounds, keras_spreads(model))]
    inferred += [s.note(name) for name, s in zip(names, spreads) if s is not None]
    found = keras_vocabularies(model)
    inferred += [v.note(name) for name, v in zip(names, found) if v is not None]
    vocabularies = [None if v is None else v.attr() for v in found]
    undrawable = strings_undrawable(names, shapes, dtypes, drawn=found)
    computed = [str(getattr(layer, "compute_dtype", None)) for layer in _flat_layers(model)]
    precision = mixed_precision(dtypes, set(computed))
    if precision is not None:
        half = precision.removeprefix("mixed_")
        inferred.append(f"{computed.count(half)} of its {len(computed)} layers compute in "
                        f"{half} between float32 inputs (Keras' {precision} policy): judged "
                        f"as {precision}")
    return LoadedModel(path, kind, start, model, names, shapes, dtypes, weights, legacy,
                       layers, bounds, [*notes, *inferred], owner, what=what,
                       precision=precision,
                       paddings=[None if p is None else p.value for p in paddings],
                       masks=masks, undrawable=undrawable, vocabularies=vocabularies,
                       spreads=[None if s is None else s.attr() for s in spreads])


def _input_layer_name(tensor, index: int) -> str:
    history = getattr(tensor, "_keras_history", None)
    # Keras 3 names the layer that made a tensor ``operation``, tf_keras ``layer``.
    operation = (getattr(history, "operation", None) or getattr(history, "layer", None)
                 if history is not None else None)
    return getattr(operation, "name", None) or f"input_{index}"


def _flat_layers(model) -> list:
    found = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers") and getattr(layer, "layers", None):
            found.extend(_flat_layers(layer))
        else:
            found.append(layer)
    return found


_INERT_KEYS = ("name", "trainable", "dtype")
_INERT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def _layer_attrs(layer) -> dict[str, Any]:
    """A layer's hyper-parameters that known issues and tolerance rules match on: its config's
    JSON scalars and lists of scalars (initialisers and the like left out)."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001  (a layer that cannot describe itself has no attrs)
        return {}
    attrs = {}
    for key, value in config.items():
        if key in _INERT_KEYS or key.endswith(_INERT_SUFFIXES):
            continue
        if isinstance(value, tuple):
            value = list(value)
        if _plain(value):
            attrs[key] = value
    return attrs


def _plain(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return True
    if isinstance(value, float):
        return bool(np.isfinite(value))
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, list) for v in value) and len(value) <= 16
    return False


def _embedding_bound(model) -> int:
    bounds = [int(layer.input_dim) for layer in _flat_layers(model)
              if type(layer).__name__ == "Embedding"]
    return min(bounds) if bounds else DEFAULT_INT_BOUND
