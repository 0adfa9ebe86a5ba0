"""MatConvNet DagNN (as saved by `net.saveobj()`): struct arrays `layers`, `params`, `vars`.

Block types are renamed to the SimpleNN vocabulary (`dagnn.Conv` → `conv`) and block
properties to SimpleNN field names (`poolSize` → `pool`), so one handler serves both.
"""

from __future__ import annotations

from typing import Any

from harness.mat.errors import MatImportError
from harness.mat.formats.common import is_array
from harness.mat.network import DAGNN, Layer, Network
from harness.mat.outputs import TRAINING_ONLY_TYPES, training_only_note
from harness.mat.reader import elements, text, texts

BLOCK_TYPES = {
    "dagnn.Conv": "conv",
    "dagnn.ConvTranspose": "convt",
    "dagnn.Pooling": "pool",
    "dagnn.ReLU": "relu",
    "dagnn.Sigmoid": "sigmoid",
    "dagnn.SoftMax": "softmax",
    "dagnn.LRN": "lrn",
    "dagnn.BatchNorm": "bnorm",
    "dagnn.DropOut": "dropout",
    "dagnn.Concat": "concat",
    "dagnn.Sum": "sum",
    "dagnn.Loss": "loss",
    "dagnn.PDist": "pdist",
}
_RENAMED_FIELDS = {"poolSize": "pool"}


def parse(net: dict[str, Any], path: str) -> Network:
    param_values: dict[str, Any] = {}
    for item in elements(net.get("params")):
        if isinstance(item, dict):
            param_values[text(item.get("name"))] = item.get("value")
    layers: list[Layer] = []
    notes: list[str] = []
    dropped_outputs: set[str] = set()
    for index, item in enumerate(elements(net.get("layers")), start=1):
        if not isinstance(item, dict):
            raise MatImportError(f"layer {index} of net.layers is not a struct", path=path)
        name = text(item.get("name")) or f"layer{index}"
        block_type = text(item.get("type"))
        layer_type = BLOCK_TYPES.get(block_type, block_type)
        inputs, outputs = texts(item.get("inputs")), texts(item.get("outputs"))
        if layer_type in TRAINING_ONLY_TYPES:
            notes.append(training_only_note(index, name, block_type))
            dropped_outputs.update(outputs)
            continue
        params: dict[str, Any] = {}
        for param_name in texts(item.get("params")):
            if param_name not in param_values:
                raise MatImportError(
                    f"layer {index} '{name}' (type '{block_type}') uses parameter "
                    f"'{param_name}', which net.params does not hold",
                    path=path,
                    layer=name,
                )
            value = param_values[param_name]
            if not is_array(value):
                raise MatImportError(
                    f"layer {index} '{name}': parameter '{param_name}' holds no numeric array",
                    path=path,
                    layer=name,
                )
            params[param_name] = value
        block = item.get("block")
        attrs = dict(block) if isinstance(block, dict) else {}
        for old, new in _RENAMED_FIELDS.items():
            if old in attrs:
                attrs[new] = attrs.pop(old)
        layers.append(Layer(name, layer_type, index, params, attrs, inputs, outputs))
    if not layers:
        raise MatImportError("DagNN network has no layers", path=path)
    declared = {text(v.get("name")) for v in elements(net.get("vars")) if isinstance(v, dict)}
    for layer in layers:
        unknown = [x for x in layer.inputs + layer.outputs if declared and x not in declared]
        if unknown:
            raise MatImportError(
                f"layer {layer.index} '{layer.name}' (type '{layer.type}') uses variable(s) "
                f"{unknown}, which net.vars does not declare", path=path, layer=layer.name)
    produced = {out for layer in layers for out in layer.outputs}
    consumed = {x for layer in layers for x in layer.inputs}
    inputs = _ordered(x for layer in layers for x in layer.inputs if x not in produced)
    outputs = _ordered(x for layer in layers for x in layer.outputs
                       if x not in consumed and x not in dropped_outputs)
    return Network(DAGNN, layers, inputs, outputs, source=path, notes=notes,
                   meta=net.get("meta") if isinstance(net.get("meta"), dict) else {})


def _ordered(names) -> list[str]:
    return list(dict.fromkeys(names))
