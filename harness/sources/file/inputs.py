"""A case's own inputs, read back from its spec (``attrs["inputs"]``): an ``.npz`` of arrays,
or a folder of images with a stated preprocessing, checked against the digest taken when the
case was made (``harness.check.data`` describes them from ``parity check``'s options)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.sources.file.errors import FileError
from harness.sources.file.fingerprint import digest
from harness.sources.file.safety import MAX_INPUT_BYTES, MB

MAX_IMAGE_PIXELS = 64 * 2**20


def arrays_digest(arrays: list[np.ndarray]) -> str:
    sha = hashlib.sha256()
    for x in arrays:
        sha.update(f"{x.dtype.str}{x.shape}".encode())
        sha.update(np.ascontiguousarray(x).tobytes())
    return sha.hexdigest()


def npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """An ``.npz`` file's arrays, within MAX_INPUT_BYTES and without unpickling."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(path, f"not an .npz archive ({exc})") from None
    if total > MAX_INPUT_BYTES:
        raise FileError(path, f"its arrays take {total / MB:.0f} MB; parity reads inputs up to "
                              f"{MAX_INPUT_BYTES // MB} MB")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except ValueError as exc:  # an object array: would need pickle
        raise FileError(path, f"holds an array parity cannot read without unpickling ({exc})"
                        ) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise FileError(path, f"a damaged .npz archive ({exc})") from None


def image_arrays(description: dict[str, Any]) -> list[np.ndarray]:
    """The batch the described images make: each read with Pillow, converted to the model's
    channels, resized to its fixed size (or to the first image's where the size is free),
    then ``pixel * scale``, less ``mean``, over ``std``, in the model's layout."""
    from PIL import Image

    folder = Path(description["path"])
    layout = description["layout"]
    shape = description["model_shape"]
    channels, height, width = ((shape[1], shape[2], shape[3]) if layout == "nchw"
                               else (shape[3], shape[1], shape[2]))
    mode = {1: "L", 3: "RGB", 4: "RGBA", None: "RGB"}.get(channels)
    if mode is None:
        raise FileError(folder, f"the model's image input has {channels} channels; images "
                                f"give 1, 3 or 4")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    pictures = []
    size = None if height is None or width is None else (width, height)
    for name in description["files"]:
        path = folder / name
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
                if size is None:
                    size = image.size
                if image.size != size:
                    image = image.resize(size, Image.BILINEAR)
                pixels = np.asarray(image, dtype=np.float32)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise FileError(path, f"not a readable image ({exc})") from None
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        pictures.append(pixels)
    batch = np.stack(pictures) * np.float32(description["scale"])
    mean = np.asarray(description["mean"] or [0.0], dtype=np.float32)
    std = np.asarray(description["std"] or [1.0], dtype=np.float32)
    for values, what in ((mean, "--mean"), (std, "--std")):
        if values.size not in (1, batch.shape[-1]):
            raise FileError(what, f"gives {values.size} values for {batch.shape[-1]} channels")
    batch = (batch - mean) / std
    if layout == "nchw":
        batch = batch.transpose(0, 3, 1, 2)
    return [np.ascontiguousarray(batch.astype(description.get("dtype") or "float32"))]


def load_inputs(description: dict[str, Any]) -> list[np.ndarray]:
    """The arrays a description names, checked against the digest it was made with."""
    if description.get("kind") == "images":
        arrays = image_arrays(description)
        if arrays_digest(arrays) != description.get("sha256"):
            raise FileError(description["path"], "the images changed since the case was made")
        return arrays
    path = Path(description["path"])
    if not path.is_file():
        raise FileError(path, "no such inputs file")
    if digest(path) != description.get("sha256"):
        raise FileError(path, "the inputs file changed since the case was made")
    arrays = npz_arrays(path)
    return [arrays[key] for key in description["keys"]]
