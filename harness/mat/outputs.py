"""Choosing a network's outputs, and dropping the layers they do not need.

MatConvNet networks saved after training keep their training-only layers: losses and
metrics fed by a label that the network never receives at inference. SimpleNN and DagNN
losses of MatConvNet's own types are dropped as the file is parsed (``TRAINING_ONLY_TYPES``).
Here, in a DagNN, a label is a network input named so (the DagNN convention names it
``label``; ``instanceWeights`` likewise), or one that only training-only layers read: where
every declared output is a layer without a handler that reads such an input (LapSRN's
``dagnn.vllab_dag_loss`` fed by ``level1_output`` and the label ``level1_HR``), those layers
are training-only and the outputs are what fed them. By default the outputs are those of the
layers that do not depend on a label; ``outputs`` names them instead (a variable, a tensor
or a layer, whose output is meant). Every layer no chosen output depends on is dropped with
a note naming it; a layer on the way to an output keeps every check (no handler: the usual
error).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness.mat.errors import MatImportError
from harness.mat.handlers import find_handler
from harness.mat.network import Layer, Network

LABEL_VARIABLE = re.compile(r"label|instanceweights", re.IGNORECASE)
# MatConvNet's own loss types, in SimpleNN words (a DagNN dagnn.Loss is 'loss'): training-only
# wherever they sit.
TRAINING_ONLY_TYPES = {"loss", "softmaxloss", "pdist_loss"}


def training_only_note(layer_index: int, name: str, layer_type: str, why: str = "") -> str:
    """How a dropped training-only layer is named in a network's notes, by every format."""
    return (f"dropped training-only layer {layer_index} '{name}' (type '{layer_type}')"
            + (f": {why}" if why else ""))


def is_label(variable: str) -> bool:
    """Whether a network input is named as a training-time variable (labels, instance
    weights)."""
    return LABEL_VARIABLE.search(variable.split(":")[-1]) is not None


def select_outputs(network: Network, outputs: Sequence[str] | None = None,
                   handlers=None) -> Network:
    """``network`` reduced to what ``outputs`` (by default, every output that depends on no
    label) need; the same object when nothing is dropped. ``handlers`` are those the module
    will be built with (a layer with a handler is never taken for training-only)."""
    trained: dict[int, str] = {}
    if outputs:
        targets = [_resolve(network, name) for name in outputs]
    else:
        targets, trained = _inference_outputs(network, handlers)
        if not targets:  # every output depends on a label: keep the network as it is
            return network
    needed = _ancestors(network, targets)
    kept = [layer for layer in network.layers if id(layer) in needed]
    if len(kept) == len(network.layers) and targets == network.outputs:
        return network
    dropped = [layer for layer in network.layers if id(layer) not in needed]
    notes = list(network.notes)
    wanted = ", ".join(targets)
    for layer in dropped:
        if id(layer) in trained:
            notes.append(training_only_note(layer.index, layer.name, layer.type,
                                            trained[id(layer)]))
        else:
            notes.append(f"dropped layer {layer.index} '{layer.name}' (type '{layer.type}'): "
                         f"no requested output ({wanted}) depends on it")
    read = {x for layer in kept for x in layer.inputs}
    inputs = [x for x in network.inputs if x in read or x in targets]
    if trained:
        notes.append(f"outputs {wanted}: the network's outputs that depend on no label "
                     f"(--output NAME picks others)")
    return Network(network.format, kept, inputs, targets, source=network.source, notes=notes,
                   meta=network.meta)


def _resolve(network: Network, name: str) -> str:
    produced = {out for layer in network.layers for out in layer.outputs}
    if name in produced or name in network.inputs:
        return name
    for layer in network.layers:
        if layer.name == name and len(layer.outputs) == 1:
            return layer.outputs[0]
    layer_names = ", ".join(layer.name for layer in network.layers)
    raise MatImportError(f"requested output '{name}' is neither a layer nor a variable of "
                         f"this network; its layers: {layer_names}", path=network.source)


def training_only(network: Network, handlers=None) -> tuple[list[Layer], list[str]]:
    """The layers of the declared outputs and their labels, where every declared output is
    a layer without a handler (or of a MatConvNet loss type) that reads a network input no
    other layer reads (a label); else ``([], [])``."""

    producer = {out: layer for layer in network.layers for out in layer.outputs}
    if not network.outputs or any(out not in producer for out in network.outputs):
        return [], []
    finals = list({id(producer[out]): producer[out] for out in network.outputs}.values())
    if any(layer.type not in TRAINING_ONLY_TYPES
           and find_handler(layer.type, handlers) is not None for layer in finals):
        return [], []
    final_ids = {id(layer) for layer in finals}
    read_elsewhere = {x for layer in network.layers if id(layer) not in final_ids
                      for x in layer.inputs}
    labels = list(dict.fromkeys(x for layer in finals for x in layer.inputs
                                if x in network.inputs and x not in read_elsewhere))
    if not all(any(x in labels for x in layer.inputs) for layer in finals):
        return [], []
    return finals, labels


def _inference_outputs(network: Network, handlers=None) -> tuple[list[str], dict[int, str]]:
    """The default outputs, and why each training-only layer (by id) is dropped."""
    finals, found = training_only(network, handlers)
    labels = {x for x in network.inputs if is_label(x)} | set(found)
    if not labels:
        return list(network.outputs), {}
    tainted: set[int] = set()
    dirty = set(labels)
    for layer in _in_order(network):
        if any(x in dirty for x in layer.inputs):
            tainted.add(id(layer))
            dirty.update(layer.outputs)
    clean = [layer for layer in network.layers if id(layer) not in tainted]
    consumed = {x for layer in clean for x in layer.inputs}
    terminal = [out for layer in clean for out in layer.outputs if out not in consumed]
    declared = [out for out in network.outputs if out in terminal]
    # What fed the training-only layers, where they are the declared outputs (LapSRN x4's
    # level1_output feeds its loss and the next level, so is not terminal).
    fed = [x for layer in finals for x in layer.inputs if x not in dirty]
    targets = list(dict.fromkeys(declared + fed + terminal))
    trained = {id(layer): _why(layer, labels, id(layer) in {id(f) for f in finals})
               for layer in network.layers if id(layer) in tainted}
    return targets, trained


def _why(layer: Layer, labels: set[str], final: bool) -> str:
    read = [x for x in layer.inputs if x in labels]
    if not read:
        return "it depends on a label input"
    named = ", ".join(f"'{x}'" for x in read)
    if final:
        return (f"a declared output without a handler that reads the label input {named}, "
                f"which no other layer reads")
    return f"it reads the label input {named}"


def _in_order(network: Network) -> list[Layer]:
    """Layers with every producer before its consumers (file order breaks ties); a cycle or
    a missing variable is left for the builder to report."""
    available = set(network.inputs)
    pending, order = list(network.layers), []
    while pending:
        ready = [layer for layer in pending if all(x in available for x in layer.inputs)]
        if not ready:
            return order + pending
        for layer in ready:
            order.append(layer)
            available.update(layer.outputs)
            pending.remove(layer)
    return order


def _ancestors(network: Network, targets: list[str]) -> set[int]:
    producer = {out: layer for layer in network.layers for out in layer.outputs}
    needed: set[int] = set()
    stack = [producer[t] for t in targets if t in producer]
    while stack:
        layer = stack.pop()
        if id(layer) in needed:
            continue
        needed.add(id(layer))
        stack.extend(producer[x] for x in layer.inputs if x in producer)
    return needed


def output_before(network: Network, layers: list[Layer], handlers=None) -> str | None:
    """A variable that one of ``layers`` reads, that a layer makes and whose every layer on
    the way has a handler: an output the network can be imported up to; None if none."""

    producer = {out: layer for layer in network.layers for out in layer.outputs}
    by_id = {id(layer): layer for layer in network.layers}
    for layer in layers:
        for variable in layer.inputs:
            if variable not in producer:
                continue
            needed = _ancestors(network, [variable])
            if all(find_handler(by_id[i].type, handlers) is not None for i in needed):
                return variable
    return None
