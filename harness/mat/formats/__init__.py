"""Detect which kind of network a `.mat` file holds and parse it into the neutral form."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.mat.errors import MatImportError
from harness.mat.formats import dagnn, dlt, simplenn
from harness.mat.network import Network
from harness.mat.reader import MatlabObject, read_mat, text

# Deep Learning Toolbox classes whose saved objects only MATLAB can decode.
DLT_OBJECT_CLASSES = {"SeriesNetwork", "DAGNetwork", "dlnetwork", "LayerGraph",
                      "yolov2ObjectDetector", "Layer"}

EXPORT_HINT = (
    "it holds a Deep Learning Toolbox object ({cls}) saved with save(); only MATLAB can decode "
    "such objects. In MATLAB, run the exporter shipped in parity's matlab/ folder: "
    "addpath('<parity>/matlab'); parity_export(net, 'net_export.mat') "
    "and import the file it writes."
)


def load_network(path: str | os.PathLike, outputs: Sequence[str] | None = None) -> Network:
    """Read `path` and parse the network it holds (SimpleNN, DagNN or parity.dlt/1), with
    the layers that `outputs` (names of layers or variables; by default every output that
    depends on no label, see `harness.mat.outputs`) do not need dropped, each named in a note."""
    from harness.mat.outputs import select_outputs

    return select_outputs(parse_file(path), outputs)


def parse_file(path: str | os.PathLike) -> Network:
    """The network `path` holds, every layer kept."""
    path = os.fspath(path)
    return parse_variables(read_mat(path), path)


def parse_variables(variables: dict[str, Any], path: str = "") -> Network:
    if text(variables.get("format")) == dlt.FORMAT:
        return dlt.parse(variables, path)
    if "format" in variables and "layers" in variables:
        raise MatImportError(
            f"unknown export format '{text(variables.get('format'))}'; this importer reads "
            f"'{dlt.FORMAT}'", path=path)
    for name, value in variables.items():
        if isinstance(value, MatlabObject):
            raise MatImportError(f"variable '{name}': " + EXPORT_HINT.format(cls=value.class_name),
                                 path=path)
    net = _network_struct(variables)
    if net is None:
        raise MatImportError(
            "no network found: expected a struct variable (usually 'net') with a 'layers' field "
            "(MatConvNet) or a 'format' variable (parity.dlt/1 export); the file holds "
            f"{sorted(variables) or 'no variables'}",
            path=path,
        )
    if "params" in net and "vars" in net:
        return dagnn.parse(net, path)
    return simplenn.parse(net, path)


def _network_struct(variables: dict[str, Any]) -> dict[str, Any] | None:
    if "layers" in variables:  # saved with save(file, '-struct', 'net')
        return variables
    candidates = [variables["net"]] if "net" in variables else list(variables.values())
    for value in candidates:
        if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
            value = value.ravel()[0]
        if isinstance(value, dict) and "layers" in value:
            return value
    return None
