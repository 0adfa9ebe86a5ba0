"""A TF SavedModel folder: with tf_keras' metadata (``keras_metadata.pb``) a Keras-2 model read
by tf_keras (starts paths at ``tf_keras``, and the folder is a second root, ``savedmodel``);
else a graph read by ``tf.saved_model.load`` (starts paths at ``savedmodel``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.converters.saved_formats import SavedFormatError, load_savedmodel
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.keras_files import keras_loaded, register_known_objects
from harness.sources.file.loaded import (
    DEFAULT_INT_BOUND,
    KERAS2_START,
    PLAIN_SAVEDMODEL_START,
    LoadedModel,
)
from harness.sources.file.writers import savedmodel_writer

FORMAT = "savedmodel"
START = KERAS2_START  # a plain graph records its start (``savedmodel``) in its case


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """A folder is a SavedModel here, or refused: parity reads no other folder."""
    if head is not None:
        return False
    if (path / "saved_model.pb").is_file():
        return True
    if (path / "saved_model.pbtxt").is_file():
        raise UnsupportedFile(path, "a SavedModel in text form (saved_model.pbtxt); "
                                    "parity reads saved_model.pb")
    raise FileError(path, "a folder that is not a TF SavedModel (no saved_model.pb); "
                          "give a model file or a SavedModel folder")


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    if savedmodel_writer(path) is not None:
        return _load_keras2(path)
    try:
        loaded = load_savedmodel(path)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).split(": ", 1)[-1]) from None
    specs = _signature(path, loaded)
    names = [name for name, _ in specs]
    shapes = [tuple(None if d is None else int(d) for d in spec.shape) for _, spec in specs]
    dtypes = [spec.dtype.name for _, spec in specs]
    bounds = [DEFAULT_INT_BOUND if np.dtype(d).kind in "iu" else None for d in dtypes]
    return LoadedModel(path, FORMAT, PLAIN_SAVEDMODEL_START, loaded, names, shapes, dtypes,
                       int_bounds=bounds, what="a TF SavedModel")


def _load_keras2(path: Path) -> LoadedModel:
    import tf_keras
    from tf_keras.src.saving import serialization_lib

    register_known_objects()
    try:
        with serialization_lib.SafeModeScope(True):
            legacy = tf_keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"tf_keras cannot read this SavedModel "
                              f"({type(exc).__name__}: {first_line(exc)})") from None
    return keras_loaded(path, FORMAT, legacy, "a TF SavedModel with Keras metadata", None,
                        legacy, ["written by Keras 2 (keras_metadata.pb): read by tf_keras"],
                        start=KERAS2_START)


def _signature(path: Path, loaded) -> list[tuple[str, Any]]:
    """(name, TensorSpec) of each input, in the order ``run_savedmodel`` feeds them."""
    if hasattr(loaded, "serve"):
        try:
            spec = loaded.serve.input_signature
        except AttributeError:
            spec = None
        if spec:
            flat = list(spec[0]) if len(spec) == 1 and isinstance(spec[0], (list, tuple)) \
                else list(spec)
            return [(s.name or f"input_{i}", s) for i, s in enumerate(flat)]
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise UnsupportedFile(path, "a SavedModel with neither a 'serve' endpoint nor a "
                                    "'serving_default' signature: nothing to call")
    inputs = signature.structured_input_signature[1]
    return [(name, inputs[name]) for name in sorted(inputs)]
