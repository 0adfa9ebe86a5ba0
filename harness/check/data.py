"""A user's own inputs for ``parity check``: an ``.npz`` of arrays, or a folder of images with
a stated preprocessing.

Each is described by a small JSON-able dict that goes into the case's spec (``attrs["inputs"]``)
and is read back by ``load_inputs``, so that the case is reproducible from its spec and its
arrays are checked against the digest taken when the case was made.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.sources.file import MAX_INPUT_BYTES, MB, FileError, LoadedModel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")
MAX_IMAGES = 256
MAX_IMAGE_PIXELS = 64 * 2**20
LAYOUTS = ("nhwc", "nchw")


def _arrays_digest(arrays: list[np.ndarray]) -> str:
    sha = hashlib.sha256()
    for x in arrays:
        sha.update(f"{x.dtype.str}{x.shape}".encode())
        sha.update(np.ascontiguousarray(x).tobytes())
    return sha.hexdigest()


# -- .npz ------------------------------------------------------------------------------------

def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
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


def _npz_keys(path: Path, names: list[str], available: list[str]) -> list[str]:
    """Which array feeds each model input: by the input's name, by ``input_<i>``, or (for
    ``np.savez(file, a, b)``'s arr_0, arr_1, ...) in order."""
    if all(name in available for name in names):
        return list(names)
    positional = [f"input_{i}" for i in range(len(names))]
    if all(key in available for key in positional):
        return positional
    ordered = [f"arr_{i}" for i in range(len(names))]
    if all(key in available for key in ordered):
        return ordered
    if len(available) == len(names) == 1:
        return list(available)
    raise FileError(path, f"holds arrays {sorted(available)}; the model's inputs are "
                          f"{names}: name the arrays after the inputs (or input_0, input_1, ...)")


def describe_npz(path: str | Path, loaded: LoadedModel) -> dict[str, Any]:
    from harness.sources.file import digest

    path = Path(path).resolve()
    arrays = _npz_arrays(path)
    keys = _npz_keys(path, loaded.input_names, list(arrays))
    chosen = [arrays[key] for key in keys]
    for key, x in zip(keys, chosen):
        if x.dtype.kind not in "fiub":
            raise FileError(path, f"array {key!r} has dtype {x.dtype}; inputs are numbers")
    return {"kind": "npz", "path": str(path), "sha256": digest(path), "keys": keys,
            "shapes": [list(x.shape) for x in chosen], "dtypes": [x.dtype.name for x in chosen],
            "origin": str(path)}


# -- images ----------------------------------------------------------------------------------

def _numbers(text: str | float | list | None, what: str) -> list[float]:
    if text is None:
        return []
    if isinstance(text, (int, float)):
        return [float(text)]
    if isinstance(text, list):
        return [float(v) for v in text]
    try:
        return [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise FileError(what, f"expects numbers separated by commas, got {text!r}") from None


def image_layout(loaded: LoadedModel, layout: str | None) -> str:
    """The layout of the model's image input: as stated, else where its channels sit."""
    if layout is not None:
        if layout.lower() not in LAYOUTS:
            raise FileError("--layout", f"is {layout!r}; one of {', '.join(LAYOUTS)}")
        return layout.lower()
    shape = loaded.input_shapes[0]
    if loaded.start in ("keras", "tf_keras", "savedmodel"):
        return "nhwc"
    if loaded.start == "mat":
        return "nchw"
    if len(shape) == 4 and shape[1] in (1, 3, 4):
        return "nchw"
    return "nhwc"


def describe_images(folder: str | Path, loaded: LoadedModel, *, scale: float = 1 / 255,
                    mean: str | list | None = None, std: str | list | None = None,
                    layout: str | None = None, limit: int = 16) -> dict[str, Any]:
    folder = Path(folder).resolve()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                   and p.is_file())
    if not files:
        raise FileError(folder, f"holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if len(loaded.input_shapes) != 1 or len(loaded.input_shapes[0]) != 4:
        raise FileError(folder, "images feed a model with one image input (rank 4); this "
                                f"model takes {len(loaded.input_shapes)} input(s) of rank "
                                f"{[len(s) for s in loaded.input_shapes]}: give an .npz")
    limit = max(1, min(int(limit), MAX_IMAGES))
    description = {"kind": "images", "path": str(folder),
                   "files": [p.name for p in files[:limit]],
                   "scale": float(scale), "mean": _numbers(mean, "--mean"),
                   "std": _numbers(std, "--std") or [1.0],
                   "layout": image_layout(loaded, layout),
                   "model_shape": [None if d is None else int(d)
                                   for d in loaded.input_shapes[0]],
                   "dtype": loaded.input_dtypes[0], "origin": str(folder)}
    arrays = image_arrays(description)
    description["shapes"] = [list(x.shape) for x in arrays]
    description["dtypes"] = [x.dtype.name for x in arrays]
    description["sha256"] = _arrays_digest(arrays)
    return description


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


# -- reading back ----------------------------------------------------------------------------

def load_inputs(description: dict[str, Any]) -> list[np.ndarray]:
    """The arrays a description names, checked against the digest it was made with."""
    if description.get("kind") == "images":
        arrays = image_arrays(description)
        if _arrays_digest(arrays) != description.get("sha256"):
            raise FileError(description["path"], "the images changed since the case was made")
        return arrays
    from harness.sources.file import digest

    path = Path(description["path"])
    if not path.is_file():
        raise FileError(path, "no such inputs file")
    if digest(path) != description.get("sha256"):
        raise FileError(path, "the inputs file changed since the case was made")
    arrays = _npz_arrays(path)
    return [arrays[key] for key in description["keys"]]


def describe(source: str | Path, loaded: LoadedModel, **image_options) -> dict[str, Any]:
    """An ``.npz`` file or a folder of images, as the spec records it."""
    path = Path(source)
    if not path.exists():
        raise FileError(path, "no such inputs file or folder")
    if path.is_dir():
        return describe_images(path, loaded, **image_options)
    return describe_npz(path, loaded)
