"""The logits behind a saturated output: which activation ends each of a file's outputs, and
the file's model tapped before it, whose legs ``parity check`` runs again.

A softmax or sigmoid whose every value sits within 1e-6 of 0 or 1 hides any difference in
the logits that feed it: agreement on it proves little (harness.check.strength). Where the
model's output comes straight from such an activation, the tapped model outputs that
activation's input instead, by format:

- an ONNX graph: the input of its final ``Softmax``/``Sigmoid`` node (past value-keeping
  nodes such as ``Reshape`` or ``Flatten``) becomes the graph's output;
- a Keras model (Keras 3 or tf_keras): the input of a final ``Softmax`` layer or
  ``Activation('softmax'|'sigmoid')``, or a layer whose own activation is one (a
  ``Dense(activation='softmax')``) split into that layer with a linear activation, sharing
  its weights;
- a ``.mat`` network: ``--output`` names the variable that feeds a final softmax or sigmoid
  layer; the file is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sources.file.loaded import KERAS2_START, LoadedModel

SOFTMAX, SIGMOID = "softmax", "sigmoid"
ONNX_ACTIVATIONS = {"Softmax": SOFTMAX, "Sigmoid": SIGMOID}
# Nodes that move or reshape values without changing them: a Softmax behind them still ends
# the output.
ONNX_VALUE_KEEPING = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"}
MAT_ACTIVATIONS = {"softmax": SOFTMAX, "sigmoid": SIGMOID, "SoftmaxLayer": SOFTMAX,
                   "SigmoidLayer": SIGMOID}
KERAS_ACTIVATION_NAMES = (SOFTMAX, SIGMOID)
LOGITS_SUFFIX = "_logits"


@dataclass
class FinalActivation:
    """The activation that ends one of a model's outputs, and how to reach its input."""

    kind: str  # SOFTMAX or SIGMOID
    # Where the logits are, in words: "the input of Softmax node 'probs'", "layer 'head'
    # before its softmax activation"
    where: str
    tap: Any = field(default=None, repr=False)  # the format's handle on the logits


def final_activations(loaded: LoadedModel) -> list[FinalActivation | None]:
    """Per output of the model, the softmax or sigmoid it comes straight from, else None."""
    if loaded.start == "onnx":
        return _onnx_activations(loaded.model)
    if loaded.start in ("keras", KERAS2_START):
        model = loaded.legacy if loaded.start == KERAS2_START else loaded.model
        return [_keras_activation(tensor) for tensor in getattr(model, "outputs", None) or []]
    if loaded.start == "mat":
        return _mat_activations(loaded.model)
    return []


def tapped_model(loaded: LoadedModel, taps: list[FinalActivation],
                 folder: Path) -> tuple[Path, list[str] | None]:
    """A model file whose outputs are the logits ``taps`` reach (written under ``folder``),
    and the ``--output`` names that select them (a ``.mat`` network's; None otherwise)."""
    if loaded.start == "onnx":
        return _tapped_onnx(loaded.model, taps, folder), None
    if loaded.start == KERAS2_START:
        return _tapped_keras(loaded.legacy, taps, folder / "logits.h5", legacy=True), None
    if loaded.start == "keras":
        return _tapped_keras(loaded.model, taps, folder / "logits.keras", legacy=False), None
    if loaded.start == "mat":
        return loaded.path, [tap.tap for tap in taps]
    raise ValueError(f"no logits tap for a model read to {loaded.start!r}")


# -- ONNX ------------------------------------------------------------------------------------

def _onnx_activations(model) -> list[FinalActivation | None]:
    graph = model.graph
    producers = {name: node for node in graph.node for name in node.output}
    fed = {value.name for value in graph.input} | {init.name for init in graph.initializer}
    found: list[FinalActivation | None] = []
    for output in graph.output:
        node = producers.get(output.name)
        while node is not None and node.op_type in ONNX_VALUE_KEEPING and node.input:
            node = producers.get(node.input[0])
        if (node is None or node.domain not in ("", "ai.onnx")
                or node.op_type not in ONNX_ACTIVATIONS or node.input[0] in fed):
            found.append(None)
            continue
        label = node.name or node.output[0]
        found.append(FinalActivation(ONNX_ACTIVATIONS[node.op_type],
                                     f"the input of {node.op_type} node {label!r}",
                                     (node.input[0], output.type.tensor_type.elem_type)))
    return found


def _tapped_onnx(model, taps: list[FinalActivation], folder: Path) -> Path:
    import onnx
    from onnx import helper

    tapped = onnx.ModelProto()
    tapped.CopyFrom(model)
    del tapped.graph.output[:]
    for tap in taps:
        name, elem_type = tap.tap
        tapped.graph.output.append(helper.make_tensor_value_info(name, elem_type, None))
    path = folder / "logits.onnx"
    large = tapped.ByteSize() > 2**31 - 2**26  # protobuf's 2 GB limit, with room to spare
    onnx.save(tapped, str(path), save_as_external_data=large, location="logits.onnx.data")
    return path


# -- Keras 3 and tf_keras --------------------------------------------------------------------

def producing_layer(tensor):
    """The Keras layer (Keras 3 or tf_keras) that made ``tensor``, or None."""
    history = getattr(tensor, "_keras_history", None)
    # Keras 3 names the layer that made a tensor ``operation``, tf_keras ``layer``.
    return (getattr(history, "operation", None) or getattr(history, "layer", None)
            if history is not None else None)


def _producer(tensor) -> tuple[Any, Any] | None:
    """The layer that made ``tensor`` and the node (call) that made it, or None."""
    layer = producing_layer(tensor)
    nodes = getattr(layer, "_inbound_nodes", None) or []
    index = tensor._keras_history.node_index if layer is not None else 0
    if layer is None or index >= len(nodes):
        return None
    return layer, nodes[index]


def _node_inputs(node) -> list:
    tensors = getattr(node, "keras_inputs", None) or getattr(node, "input_tensors", None)
    if tensors is None:
        return []
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _activation_name(layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "") or ""


def _keras_activation(tensor) -> FinalActivation | None:
    made = _producer(tensor)
    if made is None:
        return None
    layer, node = made
    inputs = _node_inputs(node)
    if len(inputs) != 1:
        return None
    kind_of_layer = type(layer).__name__
    if kind_of_layer == "Softmax":
        return FinalActivation(SOFTMAX, f"the input of Softmax layer {layer.name!r}",
                               (inputs[0], None))
    activation = _activation_name(layer)
    if activation not in KERAS_ACTIVATION_NAMES:
        return None
    if kind_of_layer == "Activation":
        return FinalActivation(activation, f"the input of Activation layer {layer.name!r}",
                               (inputs[0], None))
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001  (a layer that cannot describe itself cannot be split)
        return None
    if "activation" not in config:
        return None
    return FinalActivation(activation, f"{kind_of_layer} layer {layer.name!r} before its "
                                       f"{activation} activation", (inputs[0], layer))


def _linear_twin(layer, tensor):
    """``layer`` applied to ``tensor`` with a linear activation, sharing its weights."""
    config = dict(layer.get_config())
    config["activation"] = "linear"
    config["name"] = f"{layer.name}{LOGITS_SUFFIX}"
    twin = type(layer).from_config(config)
    logits = twin(tensor)
    twin.set_weights(layer.get_weights())
    return logits


def _tapped_keras(model, taps: list[FinalActivation], path: Path, *, legacy: bool) -> Path:
    if legacy:
        from tf_keras import Model
    else:
        from keras import Model

    outputs = []
    for tap in taps:
        tensor, layer = tap.tap
        outputs.append(tensor if layer is None else _linear_twin(layer, tensor))
    inputs = model.inputs if len(model.inputs) > 1 else model.inputs[0]
    tapped = Model(inputs, outputs if len(outputs) > 1 else outputs[0],
                   name=f"{model.name}{LOGITS_SUFFIX}")
    if legacy:
        tapped.save(str(path), save_format="h5")
    else:
        tapped.save(str(path))
    return path


# -- MATLAB networks -------------------------------------------------------------------------

def _mat_activations(network) -> list[FinalActivation | None]:
    producers = {name: layer for layer in network.layers for name in layer.outputs}
    found: list[FinalActivation | None] = []
    for output in network.outputs:
        layer = producers.get(output)
        kind = MAT_ACTIVATIONS.get(getattr(layer, "type", None))
        if layer is None or kind is None or len(layer.inputs) != 1 \
                or layer.inputs[0] in network.inputs:
            found.append(None)
            continue
        found.append(FinalActivation(kind, f"the input of {layer.where}", layer.inputs[0]))
    return found
