"""Read a `.mat` file, Level-5 (`-v6`, `-v7`: scipy.io) or HDF5 (`-v7.3`: h5py), into one
neutral in-memory form that the format parsers share:

- numeric and logical arrays: NumPy arrays in MATLAB axis order, as stored (at least 2-D; MATLAB
  has already dropped trailing singleton dimensions, so callers restore ranks from the layer's
  own sizes, see `harness.mat.layout.restore_rank`);
- char arrays: `str` (a multi-row char matrix: its rows joined with newlines);
- cell arrays: NumPy object arrays in MATLAB shape holding neutral values;
- scalar structs: `dict` (field order kept); struct arrays: NumPy object arrays of `dict`;
- MATLAB objects (MCOS, e.g. a saved `SeriesNetwork`): `MatlabObject(class_name)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.mat.errors import MatImportError

LEVEL5 = "level5"
HDF5 = "hdf5"

_NUMERIC_CLASSES = {
    "double": np.float64,
    "single": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
}


@dataclass(frozen=True)
class MatlabObject:
    """A MATLAB object that only MATLAB can decode (MCOS / classdef instance)."""

    class_name: str


def file_version(path: str) -> str:
    """`LEVEL5` or `HDF5`, from the file's own header; anything else is a `MatImportError`."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(128)
            handle.seek(512)
            hdf5_signature = handle.read(8)
    except OSError as error:
        raise MatImportError(f"cannot read the file ({error.strerror})", path=path) from error
    if hdf5_signature == b"\x89HDF\r\n\x1a\n" or header.startswith(b"\x89HDF\r\n\x1a\n"):
        return HDF5
    if len(header) == 128 and header[126:128] in (b"IM", b"MI") and header.startswith(b"MATLAB"):
        return LEVEL5
    if len(header) < 128 and header.startswith(b"MATLAB"):
        raise MatImportError(
            f"truncated .mat file: only {len(header)} bytes, shorter than the 128-byte header",
            path=path,
        )
    raise MatImportError(
        "not a MATLAB .mat file: no Level-5 header ('MATLAB 5.0 MAT-file ...') and no HDF5 "
        "signature at byte 512 (-v7.3); MATLAB Level-4 files are not supported",
        path=path,
    )


def read_mat(path: str | os.PathLike) -> dict[str, Any]:
    """Every variable of the file, by name, as neutral values (see the module docstring)."""
    path = os.fspath(path)
    version = file_version(path)
    try:
        if version == HDF5:
            return _read_hdf5(path)
        return _read_level5(path)
    except MatImportError:
        raise
    except Exception as error:  # scipy and h5py raise many types for damaged files
        raise MatImportError(
            f"cannot decode the {'-v7.3 (HDF5)' if version == HDF5 else 'Level-5'} .mat file; "
            f"it may be truncated or damaged ({type(error).__name__}: {error})",
            path=path,
        ) from error


# --- Level-5 (scipy.io) -------------------------------------------------------------------


def _read_level5(path: str) -> dict[str, Any]:
    import scipy.io
    from scipy.io import matlab

    raw = scipy.io.loadmat(
        path,
        mat_dtype=True,  # integer-valued doubles would otherwise come back as uint8
        squeeze_me=False,  # keep MATLAB's shapes; ranks are restored by the layer handlers
        struct_as_record=True,
        chars_as_strings=True,
    )
    opaque_types = (matlab.MatlabOpaque,)
    object_types = (matlab.MatlabObject,)
    function_types = (matlab.MatlabFunction,)

    def convert(value: Any) -> Any:
        if isinstance(value, opaque_types):
            return MatlabObject(_opaque_class_name(value))
        if isinstance(value, object_types):
            return MatlabObject(str(value.classname))
        if isinstance(value, function_types):
            return MatlabObject("function_handle")
        if isinstance(value, np.ndarray):
            if value.dtype.names is not None:
                return _level5_struct(value, convert)
            if value.dtype.kind == "U":
                return "\n".join(str(row) for row in value.ravel()) if value.size else ""
            if value.dtype == object:
                out = np.empty(value.shape, dtype=object)
                for index in np.ndindex(value.shape):
                    out[index] = convert(value[index])
                return out
            return value
        if isinstance(value, str):
            return value
        return value

    return {name: convert(value) for name, value in raw.items() if not name.startswith("__")}


def _opaque_class_name(value: Any) -> str:
    # scipy keeps an MCOS object as a record (s0: name, s1: 'MCOS', s2: class name, arr).
    try:
        name = value["s2"].ravel()[0]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return "an MCOS object"


def _level5_struct(value: np.ndarray, convert) -> Any:
    names = value.dtype.names
    if value.size == 1:
        record = value.ravel()[0]
        return {name: convert(record[name]) for name in names}
    out = np.empty(value.shape, dtype=object)
    for index in np.ndindex(value.shape):
        out[index] = {name: convert(value[index][name]) for name in names}
    return out


# --- HDF5 (-v7.3, h5py) -------------------------------------------------------------------


def _read_hdf5(path: str) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as handle:
        return {
            name: _h5_value(handle[name], handle)
            for name in handle
            if not name.startswith("#")  # '#refs#' (cell contents), '#subsystem#' (MCOS data)
        }


def _attr_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):  # MATLAB_fields entries are arrays of single bytes
        return b"".join(value.ravel().tolist()).decode()
    return str(value)


def _matlab_class(obj: Any) -> str | None:
    value = obj.attrs.get("MATLAB_class")
    return None if value is None else _attr_text(value)


def _h5_value(obj: Any, handle: Any) -> Any:
    import h5py

    matlab_class = _matlab_class(obj)
    if isinstance(obj, h5py.Group):
        if "MATLAB_object_decode" in obj.attrs or matlab_class not in (None, "struct"):
            return MatlabObject(matlab_class or "an MCOS object")
        return _h5_struct(obj, handle)
    if "MATLAB_object_decode" in obj.attrs or matlab_class in ("function_handle", "opaque"):
        return MatlabObject(matlab_class or "an MCOS object")
    if obj.attrs.get("MATLAB_empty", 0):
        return _h5_empty(obj, matlab_class)
    data = obj[()]
    if matlab_class == "char":
        return _h5_char(np.asarray(data))
    if matlab_class == "cell" or (matlab_class is None and obj.dtype == h5py.ref_dtype):
        refs = np.asarray(data).T  # h5py reverses MATLAB's axes
        out = np.empty(refs.shape, dtype=object)
        for index in np.ndindex(refs.shape):
            out[index] = _h5_value(handle[refs[index]], handle)
        return out
    if matlab_class == "logical":
        return np.asarray(data).T.astype(bool)
    if matlab_class in _NUMERIC_CLASSES or matlab_class is None:
        array = np.asarray(data)
        if array.dtype.names and {"real", "imag"} <= set(array.dtype.names):
            array = array["real"] + 1j * array["imag"]
        if matlab_class is not None:
            array = array.astype(_NUMERIC_CLASSES[matlab_class], copy=False)
        return np.ascontiguousarray(array.T)  # undo h5py's reversed axes
    return MatlabObject(matlab_class)


def _h5_empty(obj: Any, matlab_class: str | None) -> Any:
    # An empty MATLAB array is stored as its dimensions (e.g. [0 0]), not as data.
    dims = tuple(int(d) for d in np.asarray(obj[()]).ravel())
    if len(dims) < 2:
        dims = (0, 0)
    if matlab_class == "char":
        return ""
    if matlab_class in ("cell", "struct"):
        return np.empty(dims, dtype=object)
    dtype = _NUMERIC_CLASSES.get(matlab_class or "double", np.float64)
    return np.zeros(dims, dtype=bool if matlab_class == "logical" else dtype)


def _h5_char(data: np.ndarray) -> str:
    if data.size == 0:
        return ""
    codes = np.atleast_2d(data).T  # back to MATLAB's rows x columns
    return "\n".join("".join(chr(int(c)) for c in row) for row in codes)


def _h5_struct(group: Any, handle: Any) -> Any:
    import h5py

    fields_attr = group.attrs.get("MATLAB_fields")
    names = [_attr_text(name) for name in fields_attr] if fields_attr is not None else list(group)
    names = [name for name in names if name in group]
    # A struct array stores each field as an array of references without a MATLAB_class;
    # a scalar struct stores the field values themselves.
    is_array = any(
        isinstance(group[name], h5py.Dataset)
        and group[name].dtype == h5py.ref_dtype
        and "MATLAB_class" not in group[name].attrs
        for name in names
    )
    if not is_array:
        return {name: _h5_value(group[name], handle) for name in names}
    shape = np.asarray(group[names[0]][()]).T.shape
    out = np.empty(shape, dtype=object)
    columns = {name: np.asarray(group[name][()]).T for name in names}
    for index in np.ndindex(shape):
        out[index] = {name: _h5_value(handle[columns[name][index]], handle) for name in names}
    return out


# --- helpers shared by the format parsers ---------------------------------------------------


def elements(value: Any) -> list[Any]:
    """The elements of a cell, a struct array or a scalar struct, in MATLAB's linear order."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel(order="F"))
    if value is None:
        return []
    return [value]


def numbers(value: Any) -> list[float]:
    """A numeric MATLAB value as a flat list of floats, in MATLAB's linear order."""
    if value is None:
        return []
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [x for item in elements(value) for x in numbers(item)]
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return []
    return [float(x) for x in array.ravel(order="F")]


def text(value: Any, default: str = "") -> str:
    """A char value as `str` (a 1x1 cell holding char unwrapped); `default` for empties."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        return text(value.ravel()[0], default)
    if isinstance(value, np.ndarray) and value.size == 0:
        return default
    return default if value is None else str(value)


def texts(value: Any) -> list[str]:
    """A cellstr (or one char array) as a list of `str`."""
    if isinstance(value, str):
        return [value] if value else []
    return [text(item) for item in elements(value)]
