"""A ``.keras`` archive: a zip with config.json and metadata.json, read by the Keras its
metadata names: Keras 3 with safe_mode (starts paths at ``keras``), or tf_keras for the
zips tf.keras 2.13-2.15 wrote (at ``tf_keras``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.keras_files import keras_archive_config, load_keras3, load_tf_keras
from harness.sources.file.loaded import LoadedModel
from harness.sources.file.writers import archive_writer

FORMAT = "keras"
START = "keras"  # a Keras-2 zip records its start (``tf_keras``) in its case
ZIP_SIGNATURE = b"PK\x03\x04"
KERAS_MEMBERS = {"config.json", "metadata.json"}


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """A zip is a .keras archive here, or refused: parity reads no other zip (a PyTorch
    checkpoint is a pickle in a zip)."""
    if head is None or not head.startswith(ZIP_SIGNATURE):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(path, f"a damaged zip archive ({first_line(exc)})") from None
    if members >= KERAS_MEMBERS:
        return True
    if any(m.endswith(".pkl") or m.endswith("data.pkl") for m in members):
        raise UnsupportedFile(path, "a PyTorch checkpoint (a pickle in a zip); parity "
                                    "never unpickles a file: export it to ONNX "
                                    "(torch.onnx.export) and check the .onnx")
    raise FileError(path, "a zip archive that is not a Keras 3 .keras file (no "
                          "config.json and metadata.json)")


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    """A .keras zip, read by the Keras that wrote it (``metadata.json``): Keras 3, or
    tf_keras for tf.keras 2.13-2.15's (starts paths at ``tf_keras``)."""
    writer = archive_writer(path)
    config = keras_archive_config(path)
    if writer.keras == "keras":
        loaded = load_keras3(path, FORMAT, config, "a Keras 3 model")
    else:
        loaded = load_tf_keras(
            path, FORMAT, config,
            lambda tf_keras, named: tf_keras.models.load_model(str(named), compile=False),
            "a Keras-2 .keras model", suffix=".keras")
    loaded.notes.insert(0, writer.note())
    return loaded
