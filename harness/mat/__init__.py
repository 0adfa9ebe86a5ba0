"""Import MATLAB `.mat` networks into PyTorch.

Reads MatConvNet SimpleNN and DagNN networks and Deep Learning Toolbox networks exported with
`matlab/parity_export.m` (schema `parity.dlt/1`), from Level-5 (`-v6`, `-v7`) and HDF5
(`-v7.3`) files, and builds a `torch.fx.GraphModule` with one submodule per MATLAB layer that
takes PyTorch layouts (N×C×H×W, N×T×C, N×C).

    import harness.mat as hm
    net = hm.load_network("net.mat")          # neutral form, weights in MATLAB layout
    print(hm.inspect("net.mat"))              # layers, sizes, supported or not
    model = hm.to_torch("net.mat")            # torch.nn.Module (fx.GraphModule), eval mode
    hm.register_layer_handler("SubP", fn)     # fn(layer) -> nn.Module for a custom type
    model = hm.to_torch("net.mat", outputs=["prediction"])   # only what it needs
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from harness.mat.errors import MatImportError
from harness.mat.formats import load_network
from harness.mat.handlers import (
    register_layer_handler,
    supported_types,
    unregister_layer_handler,
)
from harness.mat.network import Layer, Network
from harness.mat.shapes import example_shapes

__all__ = [
    "Layer",
    "MatImportError",
    "Network",
    "inspect",
    "load_network",
    "register_layer_handler",
    "supported_types",
    "to_torch",
    "unregister_layer_handler",
]


def to_torch(source: str | os.PathLike | Network, handlers=None, check: bool = True,
             outputs: Sequence[str] | None = None):
    """Build a `torch.fx.GraphModule` (eval mode) from a `.mat` path or a `Network`.

    `handlers` maps layer types to `fn(layer) -> nn.Module` and takes precedence over the
    registry. With `check`, when the file declares its input size the module is run once on
    zeros, so that a layer whose weights do not fit its input fails here, by name.
    `outputs` names the outputs to import (layers or variables); by default every output
    that depends on no label (see `harness.mat.outputs`). Layers they do not need are
    dropped (see the network's notes)."""
    from harness.mat.builder import build_module, run_checked
    from harness.mat.formats import parse_file
    from harness.mat.outputs import select_outputs

    network = select_outputs(source if isinstance(source, Network) else
                             parse_file(source), outputs, handlers)
    module = build_module(network, handlers)
    if check:
        shapes = example_shapes(network, guess=False)
        if shapes is not None:
            import torch

            run_checked(module, [torch.zeros(*shape) for shape in shapes], network.source)
    return module


def inspect(source: str | os.PathLike | Network, handlers=None) -> str:
    """A listing of the network's layers, their weight sizes and whether each is supported."""
    from harness.mat.summary import describe

    network = source if isinstance(source, Network) else load_network(source)
    return describe(network, handlers)
