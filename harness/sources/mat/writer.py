"""Write `.mat` files as MATLAB does: Level-5 `-v7` (scipy.io.savemat) or HDF5 `-v7.3` (h5py,
MATLAB's layout: a 512-byte userblock with the MATLAB header text, reversed axes,
`MATLAB_class` attributes, cells and struct-array fields as object references under `#refs#`).

Values: `dict` → scalar struct; `StructArray` → struct array; NumPy object array → cell;
`str` → char; numeric/bool arrays → numeric/logical arrays in MATLAB axis order. Like MATLAB,
the writer drops trailing singleton dimensions, so a 3×3×8×1 filter bank is stored 3×3×8.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.mat.layout import matlab_shape

V7 = "7"
V73 = "7.3"

_CLASSES = {
    np.dtype(np.float64): "double", np.dtype(np.float32): "single",
    np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8",
    np.dtype(np.int16): "int16", np.dtype(np.uint16): "uint16",
    np.dtype(np.int32): "int32", np.dtype(np.uint32): "uint32",
    np.dtype(np.int64): "int64", np.dtype(np.uint64): "uint64",
}


@dataclass
class StructArray:
    """A MATLAB struct array: `items` (dicts with the same fields) in a 1×N row."""

    items: list[dict[str, Any]]
    fields: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.fields:
            self.fields = list(dict.fromkeys(k for item in self.items for k in item))


def cell(values: list[Any], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A MATLAB cell (1×N by default) holding `values`, in MATLAB's column-major order."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out.reshape(shape or (1, len(values)), order="F")


def save_mat(path: str | os.PathLike, variables: dict[str, Any], version: str = V7) -> None:
    path = os.fspath(path)
    if version == V7:
        _save_level5(path, variables)
    elif version == V73:
        _save_hdf5(path, variables)
    else:
        raise ValueError(f"version must be {V7!r} or {V73!r}, not {version!r}")


def _matlab_array(value: Any) -> np.ndarray:
    array = np.asarray(value)
    return array.reshape(matlab_shape(array))


# --- Level-5 ----------------------------------------------------------------------------


def _to_scipy(value: Any) -> Any:
    if isinstance(value, dict) and not value:
        return np.zeros((0, 0))  # scipy cannot write a struct without fields
    if isinstance(value, dict):
        record = np.empty((1, 1), dtype=[(name, object) for name in value])
        for name, item in value.items():
            record[0, 0][name] = _to_scipy(item)
        return record
    if isinstance(value, StructArray):
        record = np.empty((1, len(value.items)), dtype=[(name, object) for name in value.fields])
        for i, item in enumerate(value.items):
            for name in value.fields:
                record[0, i][name] = _to_scipy(item.get(name, np.zeros((0, 0))))
        return record
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            out[index] = _to_scipy(value[index])
        return out
    if isinstance(value, str):
        return value
    return _matlab_array(value)


def _save_level5(path: str, variables: dict[str, Any]) -> None:
    import scipy.io

    scipy.io.savemat(path, {k: _to_scipy(v) for k, v in variables.items()}, format="5",
                     long_field_names=True, do_compression=True, oned_as="column")


# --- HDF5 (-v7.3) ------------------------------------------------------------------------


def _header() -> bytes:
    text = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: "
            f"{time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(0))} HDF5 schema 1.00 .")
    return text.encode("ascii").ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"


class _H5Writer:
    def __init__(self, handle):
        import h5py

        self.h5py = h5py
        self.handle = handle
        self.refs = handle.create_group("#refs#")
        self.count = 0

    def _ref_name(self) -> str:
        self.count += 1
        return f"r{self.count}"

    def write(self, parent, name: str, value: Any) -> Any:
        h5py = self.h5py
        if isinstance(value, dict):
            group = parent.create_group(name)
            self._struct_attrs(group, list(value), "struct")
            for key, item in value.items():
                self.write(group, key, item)
            return group
        if isinstance(value, StructArray):
            group = parent.create_group(name)
            self._struct_attrs(group, value.fields, "struct")
            for key in value.fields:
                refs = np.empty((len(value.items), 1), dtype=h5py.ref_dtype)  # MATLAB 1×N
                for i, item in enumerate(value.items):
                    target = self.write(self.refs, self._ref_name(),
                                        item.get(key, np.zeros((0, 0))))
                    refs[i, 0] = target.ref
                group.create_dataset(key, data=refs, dtype=h5py.ref_dtype)
            return group
        if isinstance(value, np.ndarray) and value.dtype == object:
            if value.size == 0:
                return self._empty(parent, name, value.shape, "cell")
            refs = np.empty(value.shape, dtype=h5py.ref_dtype)
            for index in np.ndindex(value.shape):
                refs[index] = self.write(self.refs, self._ref_name(), value[index]).ref
            dataset = parent.create_dataset(name, data=refs.T, dtype=h5py.ref_dtype)
            dataset.attrs["MATLAB_class"] = np.bytes_("cell")
            return dataset
        if isinstance(value, str):
            if not value:
                return self._empty(parent, name, (0, 0), "char")
            codes = np.array([[ord(c) for c in value]], dtype=np.uint16)  # MATLAB 1×len
            dataset = parent.create_dataset(name, data=codes.T)
            dataset.attrs["MATLAB_class"] = np.bytes_("char")
            dataset.attrs["MATLAB_int_decode"] = np.int32(2)
            return dataset
        array = _matlab_array(value)
        if array.dtype == bool:
            if array.size == 0:
                return self._empty(parent, name, array.shape, "logical")
            dataset = parent.create_dataset(name, data=array.astype(np.uint8).T)
            dataset.attrs["MATLAB_class"] = np.bytes_("logical")
            dataset.attrs["MATLAB_int_decode"] = np.int32(1)
            return dataset
        if array.dtype not in _CLASSES:
            array = array.astype(np.float64)
        if array.size == 0:
            return self._empty(parent, name, array.shape, _CLASSES[array.dtype])
        dataset = parent.create_dataset(name, data=np.ascontiguousarray(array.T))
        dataset.attrs["MATLAB_class"] = np.bytes_(_CLASSES[array.dtype])
        return dataset

    def _empty(self, parent, name: str, shape, matlab_class: str):
        dataset = parent.create_dataset(name, data=np.array(shape, dtype=np.uint64))
        dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
        dataset.attrs["MATLAB_empty"] = np.uint8(1)
        return dataset

    def _struct_attrs(self, group, fields: list[str], matlab_class: str) -> None:
        h5py = self.h5py
        group.attrs["MATLAB_class"] = np.bytes_(matlab_class)
        names = np.empty(len(fields), dtype=h5py.vlen_dtype(np.dtype("S1")))
        for i, key in enumerate(fields):
            names[i] = np.frombuffer(key.encode(), dtype="S1")
        group.attrs.create("MATLAB_fields", names, dtype=h5py.vlen_dtype(np.dtype("S1")))


def _save_hdf5(path: str, variables: dict[str, Any]) -> None:
    import h5py

    with h5py.File(path, "w", userblock_size=512, libver="earliest") as handle:
        writer = _H5Writer(handle)
        for name, value in variables.items():
            writer.write(handle, name, value)
    with open(path, "r+b") as raw:  # MATLAB's header text lives in the userblock
        raw.write(_header())
