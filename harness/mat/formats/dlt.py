"""The `parity.dlt/1` schema written by `matlab/parity_export.m` from a Deep Learning Toolbox
network (SeriesNetwork, DAGNetwork, dlnetwork); see MAT_FORMATS.md."""

from __future__ import annotations

import re
from typing import Any

from harness.mat.errors import MatImportError
from harness.mat.formats.common import is_array
from harness.mat.network import DLT, Layer, Network
from harness.mat.reader import elements, text, texts

FORMAT = "parity.dlt/1"
# Layers that only define the training loss; the network's output is what feeds them.
OUTPUT_CLASSES = {
    "ClassificationOutputLayer",
    "RegressionOutputLayer",
    "PixelClassificationLayer",
    "DicePixelClassificationLayer",
}
INPUT_CLASSES = {"ImageInputLayer", "FeatureInputLayer", "SequenceInputLayer"}
LEARNABLES = {
    "Weights", "Bias", "TrainedMean", "TrainedVariance", "Scale", "Offset", "InputWeights",
    "RecurrentWeights", "HiddenState", "CellState", "Mean", "StandardDeviation", "Min", "Max",
}
_PORT = re.compile(r"^in(\d+)$")


def parse(variables: dict[str, Any], path: str) -> Network:
    raw_layers = elements(variables.get("layers"))
    if not raw_layers:
        raise MatImportError("parity.dlt/1 file has no layers (variable 'layers' is empty)",
                             path=path)
    layers: list[Layer] = []
    by_name: dict[str, Layer] = {}
    dropped: dict[str, str] = {}
    notes: list[str] = []
    for index, item in enumerate(raw_layers, start=1):
        if not isinstance(item, dict):
            raise MatImportError(f"layers{{{index}}} is not a struct", path=path)
        name = text(item.get("Name")) or f"layer{index}"
        cls = text(item.get("Class"))
        if not cls:
            raise MatImportError(f"layer {index} '{name}' has no Class", path=path, layer=name)
        if name in by_name or name in dropped:
            raise MatImportError(f"two layers are named '{name}'", path=path, layer=name)
        if cls in OUTPUT_CLASSES:
            dropped[name] = cls
            notes.append(f"dropped output layer {index} '{name}' (class '{cls}')")
            continue
        params = {k: v for k, v in item.items() if k in LEARNABLES and is_array(v) and v.size}
        attrs = {k: v for k, v in item.items() if k not in ("Name", "Class")}
        layer = Layer(name, cls, index, params, attrs, [], [name])
        layers.append(layer)
        by_name[name] = layer

    connections = _connections(variables.get("connections"), path)
    if connections:
        _wire(connections, layers, by_name, dropped, path)
    else:
        previous = None
        for layer in layers:
            layer.inputs = [previous] if previous else []
            previous = layer.outputs[0]

    input_names = texts(variables.get("inputNames"))
    graph_inputs: list[str] = []
    for name in input_names or [layer.name for layer in layers if not layer.inputs]:
        if name not in by_name:
            raise MatImportError(f"inputNames names '{name}', which is not a layer",
                                 path=path, layer=name)
        layer = by_name[name]
        if not layer.inputs:
            layer.inputs = [f"input:{name}"]
        graph_inputs.extend(x for x in layer.inputs if x.startswith("input:"))

    outputs = _outputs(texts(variables.get("outputNames")), layers, by_name, dropped,
                       connections, path)
    return Network(DLT, layers, graph_inputs, outputs, source=path, notes=notes)


def _connections(value: Any, path: str) -> list[tuple[str, str]]:
    if value is None or (hasattr(value, "size") and value.size == 0):
        return []
    if isinstance(value, dict):  # a MATLAB table converted to a struct by the user
        return list(zip(texts(value.get("Source")), texts(value.get("Destination")),
                        strict=True))
    cells = getattr(value, "shape", None)
    if cells is None or len(cells) != 2 or cells[1] != 2:
        raise MatImportError(
            f"'connections' must be a K×2 cell of char {{source, destination}}; got shape "
            f"{cells}", path=path)
    return [(text(value[k, 0]), text(value[k, 1])) for k in range(cells[0])]


def _wire(connections, layers, by_name, dropped, path) -> None:
    ports: dict[str, list[tuple[int, str]]] = {layer.name: [] for layer in layers}
    for source, destination in connections:
        source_layer = source.split("/", 1)[0]
        destination_layer, _, port = destination.partition("/")
        for end, layer_name in (("source", source_layer), ("destination", destination_layer)):
            if layer_name not in by_name and layer_name not in dropped:
                raise MatImportError(
                    f"connection {source} -> {destination}: {end} '{layer_name}' is not a "
                    f"layer of the network", path=path, layer=layer_name)
        if source_layer in dropped:
            raise MatImportError(f"connection {source} -> {destination} reads output layer "
                                 f"'{source_layer}'", path=path, layer=source_layer)
        if destination_layer in dropped:
            continue
        match = _PORT.match(port)
        order = int(match.group(1)) if match else 0
        ports[destination_layer].append((order, by_name[source_layer].outputs[0]))
    for layer in layers:
        layer.inputs = [tensor for _, tensor in sorted(ports[layer.name])]


def _outputs(names, layers, by_name, dropped, connections, path) -> list[str]:
    feeds = {}
    for source, destination in connections:
        feeds.setdefault(destination.split("/", 1)[0], source.split("/", 1)[0])
    if names:
        outputs = []
        for name in names:
            if name in dropped:
                # With connections the output layer's source is known; in a series network it
                # is the layer just before it, i.e. the last kept layer before it in file order.
                name = feeds.get(name) or _series_previous(name, layers, dropped)
            if name not in by_name:
                raise MatImportError(f"outputNames names '{name}', which is not a layer",
                                     path=path, layer=name)
            outputs.append(by_name[name].outputs[0])
        return outputs
    consumed = {x for layer in layers for x in layer.inputs}
    return [layer.outputs[0] for layer in layers if layer.outputs[0] not in consumed]


def _series_previous(name: str, layers: list[Layer], dropped: dict[str, str]) -> str:
    return layers[-1].name if layers else name
