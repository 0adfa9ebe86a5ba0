"""A user's own inputs for ``parity check``: an ``.npz`` of arrays, or a folder of images with
a stated preprocessing.

Each is described by a small JSON-able dict that goes into the case's spec (``attrs["inputs"]``)
and is read back by ``load_inputs`` (``harness.sources.file.inputs``, as the file source reads
its case), so that the case is reproducible from its spec and its arrays are checked against
the digest taken when the case was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.sources.file import FileError, LoadedModel, digest
from harness.sources.file.inputs import (
    MAX_IMAGE_PIXELS,
    arrays_digest,
    image_arrays,
    load_inputs,
    npz_arrays,
)

__all__ = ["IMAGE_SUFFIXES", "LAYOUTS", "MAX_IMAGES", "MAX_IMAGE_PIXELS", "describe",
           "describe_images", "describe_npz", "image_arrays", "image_layout", "load_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")
MAX_IMAGES = 256
LAYOUTS = ("nhwc", "nchw")


# -- .npz ------------------------------------------------------------------------------------

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
    path = Path(path).resolve()
    arrays = npz_arrays(path)
    keys = _npz_keys(path, loaded.input_names, list(arrays))
    chosen = [arrays[key] for key in keys]
    for key, x, wanted in zip(keys, chosen, loaded.input_dtypes):
        if x.dtype.kind == "U" and np.dtype(wanted).kind == "O":
            continue  # strings, for an ONNX input that takes strings
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
    description["sha256"] = arrays_digest(arrays)
    return description


def describe(source: str | Path, loaded: LoadedModel, **image_options) -> dict[str, Any]:
    """An ``.npz`` file or a folder of images, as the spec records it."""
    path = Path(source)
    if not path.exists():
        raise FileError(path, "no such inputs file or folder")
    if path.is_dir():
        return describe_images(path, loaded, **image_options)
    return describe_npz(path, loaded)
