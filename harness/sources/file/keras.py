"""A Keras 3 ``.keras`` archive: a zip with config.json and metadata.json, read by Keras 3
with safe_mode (starts paths at ``keras``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.keras_files import keras_archive_config, load_keras3
from harness.sources.file.loaded import LoadedModel

FORMAT = "keras"
START = "keras"
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
    return load_keras3(path, FORMAT, keras_archive_config(path), "a Keras 3 model")
