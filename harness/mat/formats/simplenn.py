"""MatConvNet SimpleNN: `net.layers` is a cell of structs run in order."""

from __future__ import annotations

from typing import Any

from harness.mat.errors import MatImportError
from harness.mat.formats.common import weights_cell
from harness.mat.network import SIMPLENN, Layer, Network
from harness.mat.outputs import TRAINING_ONLY_TYPES, training_only_note
from harness.mat.reader import elements, text

_NOT_ATTRS = {"type", "name", "weights", "filters", "biases", "learningRate", "weightDecay",
              "precious", "momentum"}


def parse(net: dict[str, Any], path: str) -> Network:
    items = elements(net.get("layers"))
    if not items:
        raise MatImportError("SimpleNN network has no layers (net.layers is empty)", path=path)
    layers: list[Layer] = []
    notes: list[str] = []
    current = "input"
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise MatImportError(
                f"layer {index}: net.layers{{{index}}} is not a struct "
                f"({type(item).__name__}); not a MatConvNet SimpleNN network",
                path=path,
                layer=str(index),
            )
        layer_type = text(item.get("type"))
        name = text(item.get("name")) or f"layer{index}"
        if not layer_type:
            raise MatImportError(f"layer {index} '{name}' has no type", path=path, layer=name)
        if layer_type in TRAINING_ONLY_TYPES:
            notes.append(training_only_note(index, name, layer_type))
            continue
        params = _params(item)
        attrs = {key: value for key, value in item.items() if key not in _NOT_ATTRS}
        output = f"x{index}"
        layers.append(Layer(name, layer_type, index, params, attrs, [current], [output]))
        current = output
    return Network(SIMPLENN, layers, ["input"], [current], source=path, notes=notes,
                   meta=_meta(net))


def _params(item: dict[str, Any]) -> dict[str, Any]:
    if "weights" in item:
        arrays = weights_cell(item["weights"])
        return {f"weights{{{k}}}": array for k, array in enumerate(arrays, start=1)}
    # MatConvNet before beta-11 stored `filters` and `biases` fields.
    return {key: weights_cell(item[key])[0] for key in ("filters", "biases")
            if key in item and weights_cell(item[key])}


def _meta(net: dict[str, Any]) -> dict[str, Any]:
    meta = net.get("meta")
    return meta if isinstance(meta, dict) else {}
