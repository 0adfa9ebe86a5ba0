"""A ``mat`` spec made concrete: its layers resolved to MATLAB layer kinds with the sizes that
flow between them, its weights (from the seed, in MATLAB layout), MATLAB's output from the
NumPy reference, layer by layer, and its ``.mat`` variables in each file format.

A ``mat`` spec is ``LayerSpec(source="mat", kind=K, attrs, input_shapes, seed)`` with::

    attrs = {"format": "simplenn" | "dagnn" | "dlt", "version": "7" | "7.3",
             "input": {...},            # DLT input layer Normalization; absent: none
             "layers": [{"kind": "conv", "attrs": {...}},
                        {"kind": "sum", "attrs": {}, "inputs": [1, 2]}, ...]}

``inputs`` names what a layer reads (0: the network input, k: the k-th layer) where it is
not the layer just before; layer k is called ``<kind><k>`` in every format. The network's
output is its last layer's; ``input_shapes`` holds the one input in PyTorch layout (N×C×H×W,
N×C or N×T×C).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.inputs import make_inputs
from harness.core.spec import LayerSpec
from harness.sources.mat import kinds
from harness.sources.mat.draw import layer_entry
from harness.sources.mat.layer import (
    DAGNN,
    DLT,
    FORMATS,
    IMAGE,
    INPUT,
    SIMPLENN,
    VERSIONS,
    MatLayer,
    Size,
    row,
    to_matlab,
    to_torch,
)
from harness.sources.mat.writer import StructArray, cell, save_mat

SOURCE = "mat"
INPUT_NAME = "input"


class MatSpecError(ValueError):
    """A ``mat`` spec that does not describe a network the writers can build."""


@dataclass
class Node:
    index: int  # 1-based position in ``layers``
    kind: MatLayer
    attrs: dict[str, Any]
    inputs: list[int]
    into: Any  # the Size flowing in (a list of them for a kind with several inputs)
    size: Size  # the Size flowing out

    @property
    def name(self) -> str:
        return f"{self.kind.name}{self.index}"


def network_spec(layers: list, *, input_shape, fmt: str = DLT, version: str = "7",
                 seed: int = 0, kind: str | None = None,
                 input_attrs: dict[str, Any] | None = None) -> LayerSpec:
    """A ``mat`` spec written by hand: ``layers`` as ``(kind, attrs)`` pairs, ``(kind,
    attrs, inputs)`` triples or layer entries; ``input_shape`` in PyTorch layout. The
    spec's kind is ``kind`` or its first layer's."""

    entries = []
    for index, item in enumerate(layers, start=1):
        if isinstance(item, dict):
            entries.append(item)
        else:
            inputs = list(item[2]) if len(item) > 2 else None
            entries.append(layer_entry(item[0], dict(item[1]), inputs, index))
    attrs: dict[str, Any] = {"format": fmt, "version": version, "layers": entries}
    if input_attrs:
        attrs["input"] = dict(input_attrs)
    name = kind or (entries[0]["kind"] if entries else INPUT)
    return LayerSpec(kind=name, attrs=attrs, input_shapes=(tuple(input_shape),), seed=seed,
                     source=SOURCE)


class MatCase:
    """The network of one ``mat`` spec; raises ``MatSpecError`` naming what is wrong."""

    def __init__(self, spec: LayerSpec):
        self.spec = spec
        attrs = spec.attrs
        self.format = attrs.get("format")
        self.version = attrs.get("version")
        if self.format not in FORMATS:
            raise MatSpecError(f"{spec.describe()}: format must be one of {FORMATS}, not "
                               f"{self.format!r}")
        if self.version not in VERSIONS:
            raise MatSpecError(f"{spec.describe()}: version must be one of {VERSIONS}, not "
                               f"{self.version!r}")
        if len(spec.input_shapes) != 1:
            raise MatSpecError(f"{spec.describe()}: a drawn MATLAB network has one input")
        shape = spec.input_shapes[0]
        try:
            self.input_size = Size.of_torch(shape)
        except ValueError as exc:
            raise MatSpecError(f"{spec.describe()}: {exc}") from None
        self.batch = int(shape[0])
        self.input_attrs = dict(attrs.get("input") or {})
        if self.input_attrs and self.format != DLT:
            raise MatSpecError(f"{spec.describe()}: only a DLT network has an input layer "
                               f"with Normalization")
        if self.input_size.layout != IMAGE and self.format != DLT:
            raise MatSpecError(f"{spec.describe()}: a MatConvNet network takes images "
                               f"(N×C×H×W), not {list(shape)}")
        self.input_kind = kinds.get(INPUT)
        sizes: dict[int, Size] = {0: self.input_size}
        self.nodes: list[Node] = []
        for index, entry in enumerate(attrs.get("layers") or [], start=1):
            where = f"{spec.describe()}: layer {index}"
            try:
                kind = kinds.get(entry["kind"])
            except (KeyError, TypeError) as exc:
                raise MatSpecError(f"{where}: {exc}") from None
            inputs = [int(i) for i in entry.get("inputs", [index - 1])]
            if len(inputs) != kind.inputs or any(not 0 <= i < index for i in inputs):
                raise MatSpecError(f"{where} ({kind.name}) reads {inputs}; it takes "
                                   f"{kind.inputs} input(s) from earlier layers (0: input)")
            into = [sizes[i] for i in inputs] if kind.inputs > 1 else sizes[inputs[0]]
            layouts = {s.layout for s in (into if isinstance(into, list) else [into])}
            if not layouts <= set(kind.takes):
                raise MatSpecError(f"{where} ({kind.name}) takes {kind.takes}, not "
                                   f"{sorted(layouts)}")
            if self.format not in kind.formats:
                raise MatSpecError(f"{where} ({kind.name}) has no {self.format} writer")
            node = Node(index, kind, dict(entry.get("attrs") or {}), inputs, into,
                        kind.output(dict(entry.get("attrs") or {}), into))
            sizes[index] = node.size
            self.nodes.append(node)
        if not self.nodes and not self.input_attrs:
            raise MatSpecError(f"{spec.describe()}: the network has no layers")
        if self.format == SIMPLENN and any(n.inputs != [n.index - 1] for n in self.nodes):
            raise MatSpecError(f"{spec.describe()}: a SimpleNN network is a chain")
        consumed = {i for node in self.nodes for i in node.inputs}
        dangling = [n.name for n in self.nodes[:-1] if n.index not in consumed]
        if dangling:
            raise MatSpecError(f"{spec.describe()}: layers {dangling} feed no other layer")

    @property
    def output_size(self) -> Size:
        return self.nodes[-1].size if self.nodes else self.input_size

    # -- weights and data -------------------------------------------------------------------

    @cached_property
    def weights(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(input layer statistics, per layer weights), MATLAB layout, float32, from the seed."""
        rng = np.random.default_rng(self.spec.seed)
        statistics = (self.input_kind.weights(self.input_attrs, self.input_size, rng)
                      if self.input_attrs else {})
        return statistics, [node.kind.weights(node.attrs, node.into, rng) for node in self.nodes]

    def inputs(self) -> list[np.ndarray]:
        """The case's input in PyTorch layout (seeded, with the spec's overrides)."""

        return make_inputs(self.spec)

    def matlab_inputs(self) -> list[np.ndarray]:
        """The same input in MATLAB's layout (H×W×C×N, C×N or C×N×T), float32."""
        return [to_matlab(x, self.input_size.layout).astype(np.float32) for x in self.inputs()]

    # -- MATLAB's output ------------------------------------------------------------------------

    def trace(self, x_matlab: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output for ``x`` (MATLAB layout), float64, by layer name; the
        input layer's (normalised) output under ``input``."""
        statistics, weights = self.weights
        value = np.asarray(x_matlab, dtype=np.float64)
        if self.input_attrs:
            value = self.input_kind.reference(value, self.input_attrs, statistics,
                                              self.input_size)
        values = {0: value}
        out = {INPUT_NAME: value}
        for node, w in zip(self.nodes, weights, strict=True):
            xs = [values[i] for i in node.inputs]
            values[node.index] = node.kind.reference(xs if node.kind.inputs > 1 else xs[0],
                                                     node.attrs, w, node.into)
            out[node.name] = values[node.index]
        return out

    def expected(self, x_matlab: np.ndarray) -> np.ndarray:
        """MATLAB's output for ``x`` (MATLAB layout in and out, float64)."""
        return list(self.trace(x_matlab).values())[-1]

    def reference(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """MATLAB's output for the PyTorch-layout ``inputs``, in PyTorch layout, float32."""
        y = self.expected(to_matlab(inputs[0], self.input_size.layout))
        return [to_torch(y, self.output_size.layout).astype(np.float32)]

    def layout_of(self, name: str) -> str:
        """The layout of a layer's output (``input`` included)."""
        for node in self.nodes:
            if node.name == name:
                return node.size.layout
        return self.input_size.layout

    # -- files --------------------------------------------------------------------------------

    def variables(self, fmt: str | None = None) -> dict[str, Any]:
        """The ``.mat`` variables of the network in ``fmt`` (the spec's format by default)."""
        fmt = fmt or self.format
        if fmt == SIMPLENN:
            return self._simplenn()
        if fmt == DAGNN:
            return self._dagnn()
        if fmt == DLT:
            return self._dlt()
        raise MatSpecError(f"unknown format {fmt!r}; formats: {FORMATS}")

    def write(self, path: str | Path, fmt: str | None = None, version: str | None = None):

        save_mat(path, self.variables(fmt), version or self.version)
        return Path(path)

    def _written(self, fmt: str):
        _, weights = self.weights
        for node, w in zip(self.nodes, weights, strict=True):
            yield node, node.kind.writer(fmt)(node.attrs, w, node.into)

    def _simplenn(self) -> dict[str, Any]:

        if any(node.inputs != [node.index - 1] for node in self.nodes):
            raise MatSpecError("a SimpleNN network is a chain; it cannot hold a merge")
        items = []
        for node, (layer_type, fields, arrays) in self._written(SIMPLENN):
            item: dict[str, Any] = {"type": layer_type, "name": node.name}
            item.update(fields)
            item["weights"] = cell(arrays)
            items.append(item)
        # MatConvNet training nets end with a loss layer, which the importer must drop.
        items.append({"type": "softmaxloss", "name": "loss", "weights": cell([])})
        return {"net": {"layers": cell(items),
                        "meta": {"inputSize": row(self.input_size.matlab)}}}

    def _dagnn(self) -> dict[str, Any]:

        layers, params, var_names = [], [], [INPUT_NAME]
        outputs = {0: INPUT_NAME}
        for node, (block_class, block, arrays) in self._written(DAGNN):
            param_names = [f"{node.name}_p{k}" for k in range(1, len(arrays) + 1)]
            params.extend({"name": p, "value": a, "learningRate": row([1])}
                          for p, a in zip(param_names, arrays, strict=True))
            outputs[node.index] = f"{node.name}_out"
            layers.append({"name": node.name, "type": block_class,
                           "inputs": cell([outputs[i] for i in node.inputs]),
                           "outputs": cell([outputs[node.index]]),
                           "params": cell(param_names), "block": block})
            var_names.append(outputs[node.index])
        # Training nets end with a loss against the labels, which the importer must drop.
        layers.append({"name": "objective", "type": "dagnn.Loss",
                       "inputs": cell([outputs[self.nodes[-1].index], "label"]),
                       "outputs": cell(["objective"]), "params": cell([]),
                       "block": {"loss": "softmaxlog"}})
        var_names += ["label", "objective"]
        return {"net": {
            "layers": StructArray(layers),
            "params": StructArray(params, ["name", "value", "learningRate"]),
            "vars": StructArray([{"name": v, "precious": np.array([[False]])}
                                 for v in var_names]),
            "meta": {"inputSize": row(self.input_size.matlab)}}}

    def _dlt(self) -> dict[str, Any]:

        statistics, _ = self.weights
        cls, props = self.input_kind.writer(DLT)(self.input_attrs, statistics, self.input_size)
        layers = [{"Name": INPUT_NAME, "Class": cls, **props}]
        names = {0: INPUT_NAME}
        connections: list[tuple[str, str]] = []
        for node, (cls, props) in self._written(DLT):
            layers.append({"Name": node.name, "Class": cls, **props})
            names[node.index] = node.name
            for port, source in enumerate(node.inputs, start=1):
                suffix = f"/in{port}" if len(node.inputs) > 1 else ""
                connections.append((names[source], node.name + suffix))
        last = names[self.nodes[-1].index] if self.nodes else INPUT_NAME
        layers.append({"Name": "regressionoutput", "Class": "RegressionOutputLayer"})
        connections.append((last, "regressionoutput"))
        variables: dict[str, Any] = {"format": "parity.dlt/1", "layers": cell(layers)}
        # Image networks list their connections; feature and sequence networks are written
        # as a series without any, the other way the exporter writes a SeriesNetwork.
        if self.input_size.layout == IMAGE or any(len(n.inputs) > 1 for n in self.nodes):
            table = np.empty((len(connections), 2), dtype=object)
            for k, (source, destination) in enumerate(connections):
                table[k, 0], table[k, 1] = source, destination
            variables["connections"] = table
            variables["inputNames"] = cell([INPUT_NAME])
            variables["outputNames"] = cell(["regressionoutput"])
        return variables
