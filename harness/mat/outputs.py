"""Choosing a network's outputs, and dropping the layers they do not need.

MatConvNet DagNN networks saved after training keep their training-only layers: losses and
metrics fed by a label variable that the network never receives at inference (the DagNN
convention names it ``label``; ``instanceWeights`` likewise). Such a layer is often a custom
class without a handler. By default the outputs are those of the layers that do not depend
on a label variable; ``outputs`` names them instead (a variable, a tensor or a layer, whose
output is meant). Every layer no chosen output depends on is dropped with a note naming it;
a layer on the way to an output keeps every check (no handler: the usual error).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness.mat.errors import MatImportError
from harness.mat.network import Layer, Network

LABEL_VARIABLE = re.compile(r"label|instanceweights", re.IGNORECASE)


def is_label(variable: str) -> bool:
    """Whether a network input is a training-time variable (labels, instance weights)."""
    return LABEL_VARIABLE.search(variable.split(":")[-1]) is not None


def select_outputs(network: Network, outputs: Sequence[str] | None = None) -> Network:
    """``network`` reduced to what ``outputs`` (by default, every output that depends on no
    label variable) need; the same object when nothing is dropped."""
    if outputs:
        targets = [_resolve(network, name) for name in outputs]
    else:
        targets = _inference_outputs(network)
        if not targets:  # every output depends on a label: keep the network as it is
            return network
    needed = _ancestors(network, targets)
    kept = [layer for layer in network.layers if id(layer) in needed]
    if len(kept) == len(network.layers) and targets == network.outputs:
        return network
    dropped = [layer for layer in network.layers if id(layer) not in needed]
    notes = list(network.notes)
    wanted = ", ".join(targets)
    notes += [f"dropped layer {layer.index} '{layer.name}' (type '{layer.type}'): no "
              f"requested output ({wanted}) depends on it" for layer in dropped]
    read = {x for layer in kept for x in layer.inputs}
    inputs = [x for x in network.inputs if x in read or x in targets]
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


def _inference_outputs(network: Network) -> list[str]:
    labels = {x for x in network.inputs if is_label(x)}
    if not labels:
        return list(network.outputs)
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
    return declared + [out for out in terminal if out not in declared]


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
