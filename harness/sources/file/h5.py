"""An HDF5 file holding a whole Keras model (a ``model_config`` attribute), read by the Keras
that wrote it: its ``keras_version`` 2.x (or none) by tf_keras (starts paths at
``tf_keras``), 3.x by Keras 3 with safe_mode (at ``keras``)."""

from __future__ import annotations

from pathlib import Path

from harness.sources.file.errors import FileError, first_line
from harness.sources.file.head import hdf5_offset
from harness.sources.file.keras_files import h5_model_config, load_keras3, load_tf_keras
from harness.sources.file.loaded import KERAS2_START, LoadedModel
from harness.sources.file.writers import h5_writer

FORMAT = "h5"
TAKES_WEIGHTS = True  # ``parity check --weights``: a Keras-2 model's weights file
START = KERAS2_START  # a Keras 3 file records its start (``keras``) in its case


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """An HDF5 file is a whole Keras model here, or refused (weights alone, or neither a
    Keras model nor a MATLAB -v7.3 file, which the ``mat`` format took first)."""
    if head is None or hdf5_offset(head) is None:
        return False
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            attrs = set(handle.attrs)
            groups = set(handle.keys())
    except Exception as exc:  # noqa: BLE001  (h5py raises OSError, KeyError, ValueError...)
        raise FileError(path, f"a damaged HDF5 file ({first_line(exc)})") from None
    if "model_config" in attrs:
        return True
    if "layer_names" in attrs or "model_weights" in groups or "layers" in groups:
        raise FileError(path, "holds weights only (no model_config); give the architecture "
                              "(.json) as MODEL and this file with --weights")
    raise FileError(path, "an HDF5 file that is not a Keras model (no model_config "
                          "attribute) nor a MATLAB -v7.3 file (no MATLAB header)")


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    """A whole-model HDF5 file, read by the Keras that wrote it."""
    writer = h5_writer(path)
    config = h5_model_config(path)
    if writer.keras == "keras":
        # Keras 3's ``model.save("x.h5")``: scanned as a ``.keras`` archive's is.
        loaded = load_keras3(path, FORMAT, config, "a Keras 3 HDF5 model", suffix=".h5")
    else:
        loaded = load_tf_keras(
            path, FORMAT, config,
            lambda tf_keras, named: tf_keras.models.load_model(str(named), compile=False),
            "a Keras-2 HDF5 model", weights, suffix=".h5")
    loaded.notes.insert(0, writer.note())
    return loaded
