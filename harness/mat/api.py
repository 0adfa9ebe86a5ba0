"""The importer's entry points: a `.mat` network as a PyTorch module, and its listing."""

from __future__ import annotations

import os
from collections.abc import Sequence

from harness.mat.formats import load_network
from harness.mat.network import Network
from harness.mat.shapes import example_shapes


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
