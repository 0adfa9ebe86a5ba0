"""Network (neutral form) → `torch.fx.GraphModule` with one named submodule per MATLAB layer."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

import torch
from torch import fx, nn

from harness.mat.errors import MatImportError
from harness.mat.handlers import Handler, find_handler
from harness.mat.network import Layer, Network

_RESERVED = {"forward", "training", "type", "to", "cuda", "cpu", "float", "half", "eval",
             "train", "graph", "code", "modules", "parameters", "buffers", "input"}


def module_name(layer_name: str, taken: set[str]) -> str:
    """A Python identifier for a MATLAB layer name ('conv1_1' stays, 'res2a/branch1' →
    'res2a_branch1'), unique among `taken`."""
    name = re.sub(r"\W", "_", layer_name) or "layer"
    if name[0].isdigit() or keyword.iskeyword(name) or name in _RESERVED:
        name = f"layer_{name}"
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def build_module(network: Network, handlers: dict[str, Handler] | None = None) -> fx.GraphModule:
    root = nn.Module()
    names: dict[int, str] = {}
    taken: set[str] = set()
    problems: list[str] = []
    failed: list[Layer] = []
    for layer in network.layers:
        module = _make_module(layer, handlers, problems)
        if module is None:
            failed.append(layer)
            continue
        names[id(layer)] = module_name(layer.name, taken)
        root.add_module(names[id(layer)], module)
    if problems:
        listing = "\n  - ".join(problems)
        error = MatImportError(
            f"cannot import {len(problems)} layer(s) of this {network.format} network:\n"
            f"  - {listing}",
            path=network.source,
            layer=None,
        )
        error.layers = failed  # what a handler would make importable
        raise error

    graph = fx.Graph()
    env: dict[str, fx.Node] = {}
    for input_name in network.inputs:
        env[input_name] = graph.placeholder(module_name(input_name.split(":")[-1], taken))
    for layer in _topological(network):
        if len(layer.outputs) != 1:
            raise MatImportError(f"{layer.where} has {len(layer.outputs)} outputs; only "
                                 "single-output layers are supported", path=network.source,
                                 layer=layer.name)
        module = root.get_submodule(names[id(layer)])
        args = [env[x] for x in layer.inputs]
        takes_list = len(args) > 1 or getattr(module, "takes_list", False)
        node = graph.call_module(names[id(layer)], (args if takes_list else args[0],))
        env[layer.outputs[0]] = node
    for output in network.outputs:
        if output not in env:
            raise MatImportError(f"the network output '{output}' is produced by no layer",
                                 path=network.source)
    results = [env[output] for output in network.outputs]
    graph.output(results[0] if len(results) == 1 else tuple(results))
    module = fx.GraphModule(root, graph, class_name="MatlabNetwork")
    module.matlab_layers = {names[id(layer)]: (layer.name, layer.type) for layer in
                            network.layers}
    return module.eval()


def _make_module(layer: Layer, handlers, problems: list[str]) -> nn.Module | None:
    handler = find_handler(layer.type, handlers)
    if handler is None:
        problems.append(
            f"{layer.where} has no handler; register one with "
            f"harness.mat.register_layer_handler({layer.type!r}, fn) or pass "
            f"handlers={{{layer.type!r}: fn}}")
        return None
    try:
        module = handler(layer)
    except MatImportError as error:
        problems.append(str(error))
        return None
    except Exception as error:  # a handler's own bug or unexpected weights: name the layer
        problems.append(f"{layer.where}: its handler failed: {type(error).__name__}: {error}")
        return None
    if not isinstance(module, nn.Module):
        problems.append(f"{layer.where}: its handler returned {type(module).__name__}, not a "
                        "torch.nn.Module")
        return None
    return module


def _topological(network: Network) -> list[Layer]:
    available = set(network.inputs)
    pending = list(network.layers)
    order: list[Layer] = []
    while pending:
        ready = [layer for layer in pending if all(x in available for x in layer.inputs)]
        if not ready:
            layer = pending[0]
            produced = {out for other in network.layers for out in other.outputs}
            missing = [x for x in layer.inputs if x not in available]
            unknown = [x for x in missing if x not in produced]
            reason = (f"reads {unknown}, which no layer produces and which is not a network "
                      "input" if unknown else f"is part of a cycle through {missing}")
            raise MatImportError(f"{layer.where} {reason}", path=network.source,
                                 layer=layer.name)
        for layer in ready:
            if not layer.inputs:
                raise MatImportError(f"{layer.where} has no inputs", path=network.source,
                                     layer=layer.name)
            order.append(layer)
            available.update(layer.outputs)
            pending.remove(layer)
    return order


class _CheckedRun(fx.Interpreter):
    """Runs the graph node by node so that a failure names the MATLAB layer."""

    def __init__(self, module: fx.GraphModule, source: str):
        super().__init__(module)
        self.source = source
        self.layers = getattr(module, "matlab_layers", {})

    def call_module(self, target, args, kwargs):
        try:
            return super().call_module(target, args, kwargs)
        except Exception as error:
            name, layer_type = self.layers.get(target, (target, "?"))
            shapes = [list(a.shape) for a in _tensors(args)]
            raise MatImportError(
                f"layer '{name}' (type '{layer_type}') fails on inputs of size {shapes} "
                f"(PyTorch layout): {type(error).__name__}: {str(error).splitlines()[0]}",
                path=self.source, layer=name) from error


def _tensors(args) -> list[torch.Tensor]:
    found = []
    for arg in args:
        if isinstance(arg, torch.Tensor):
            found.append(arg)
        elif isinstance(arg, (list, tuple)):
            found.extend(_tensors(arg))
    return found


def run_checked(module: fx.GraphModule, inputs: Sequence[torch.Tensor], source: str = ""):
    """Run `module` on `inputs`; a failing layer raises `MatImportError` naming it."""
    with torch.no_grad():
        return _CheckedRun(module, source).run(*inputs)
