"""Which Keras wrote a file, from what the file says of itself: it is read by that Keras."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.sources.file.errors import FileError, first_line
from harness.sources.file.loaded import KERAS2_START


@dataclass(frozen=True)
class Writer:
    """The Keras that wrote a file, from what the file says of itself."""

    keras: str  # "keras" (Keras 3) or "tf_keras" (Keras 2: keras 2.x, tf.keras 2.x)
    version: str | None = None  # the file's keras_version attribute
    backend: str | None = None  # its backend attribute

    def note(self) -> str:
        by = "Keras 3" if self.keras == "keras" else "Keras 2"
        version = f" (keras_version {self.version}" if self.version else " (no keras_version"
        backend = f", backend {self.backend})" if self.backend else ")"
        reader = "Keras 3" if self.keras == "keras" else "tf_keras"
        return f"written by {by}{version}{backend}: read by {reader}"


def text_attr(value) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def h5_writer(path: str | Path) -> Writer:
    """Which Keras wrote a whole-model HDF5 file: Keras 3 where its ``keras_version``
    attribute says 3.x (``model.save("x.h5")`` in Keras 3), else Keras 2 (keras 2.x and
    tf.keras write 2.x; files older than the attribute are Keras' too)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            version = text_attr(handle.attrs.get("keras_version"))
            backend = text_attr(handle.attrs.get("backend"))
    except Exception as exc:  # noqa: BLE001  (h5py raises OSError, KeyError, ValueError...)
        raise FileError(path, f"a damaged HDF5 file ({first_line(exc)})") from None
    return Writer(_reader_of(version, default=KERAS2_START), version, backend)


def archive_writer(path: str | Path) -> Writer:
    """Which Keras wrote a ``.keras`` zip: its ``metadata.json`` names ``keras_version``;
    tf.keras 2.13-2.15 (and tf_keras) write 2.x, whose classes (``keras.src.engine``) Keras 3
    cannot deserialise, Keras 3 writes 3.x."""
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileError(path, f"a damaged .keras archive ({first_line(exc)})") from None
    version = text_attr(metadata.get("keras_version")) if isinstance(metadata, dict) else None
    return Writer(_reader_of(version, default="keras"), version)


def _reader_of(version: str | None, default: str) -> str:
    major = (version or "").strip().split(".", 1)[0]
    if not major.isdigit():
        return default
    return "keras" if int(major) >= 3 else KERAS2_START


def json_writer(path: str | Path, config: dict) -> Writer:
    """Keras 2's ``model.to_json()`` names its writer (``keras_version``, ``backend``);
    Keras 3's names none, and is told by its serialisation format instead (each object
    carries ``module`` and ``registered_name``)."""
    version = text_attr(config.get("keras_version"))
    major = (version or "").strip().split(".", 1)[0]
    keras3 = (major.isdigit() and int(major) >= 3) or (
        version is None and "module" in config and "registered_name" in config)
    return Writer("keras" if keras3 else KERAS2_START, version,
                  text_attr(config.get("backend")))


def savedmodel_writer(path: str | Path) -> Writer | None:
    """tf_keras (Keras 2, tf.keras 2.x) writes ``keras_metadata.pb`` beside a SavedModel it
    saves; Keras 3's ``model.export`` and ``tf.saved_model.save`` write none (None: a plain
    graph, no Keras model to read)."""
    return Writer(KERAS2_START) if (Path(path) / "keras_metadata.pb").is_file() else None
