"""A Keras-2 architecture JSON (``model.to_json()``) with its weights ``.h5``
(``--weights``), read by tf_keras (starts paths at ``tf_keras``)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.sources.file.errors import FileError, UnsupportedFile
from harness.sources.file.keras_files import load_tf_keras
from harness.sources.file.loaded import KERAS2_START, LoadedModel
from harness.sources.file.safety import read_json
from harness.sources.file.writers import json_writer

FORMAT = "keras-json"
TAKES_WEIGHTS = True  # ``parity check --weights``: a Keras-2 model's weights file
START = KERAS2_START


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """A JSON file is a Keras architecture here, or refused (not one, or without weights)."""
    if head is None or head.lstrip()[:1] not in (b"{", b"["):
        return False
    config = read_json(path)
    if not (isinstance(config, dict) and "class_name" in config and "config" in config):
        raise FileError(path, "a JSON file that is not a Keras model architecture (no "
                              "class_name and config)")
    if weights is None:
        raise FileError(path, "a Keras architecture without weights; give the weights "
                              "file with --weights W.h5")
    return True


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    config = read_json(path)
    writer = json_writer(path, config)
    if writer.keras == "keras":
        raise UnsupportedFile(path, "a Keras 3 architecture JSON; parity reads Keras 3 "
                                    "models whole: save it with "
                                    "model.save('model.keras') and check that file")
    return load_tf_keras(
        path, FORMAT, config,
        lambda tf_keras, _: tf_keras.models.model_from_json(json.dumps(config)),
        "a Keras-2 architecture with its weights", weights, [writer.note()])
