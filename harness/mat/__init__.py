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

from harness.core.lazy import lazy_names

# Where each public name lives. ``parity``'s parser loads ``harness.mat.cli`` (and with it
# this package) on every command, so the package itself imports nothing: torch loads when a
# name that needs it is first used.
PUBLIC = {
    "Layer": "harness.mat.network",
    "Network": "harness.mat.network",
    "MatImportError": "harness.mat.errors",
    "example_shapes": "harness.mat.shapes",
    "load_network": "harness.mat.formats",
    "register_layer_handler": "harness.mat.handlers",
    "supported_types": "harness.mat.handlers",
    "unregister_layer_handler": "harness.mat.handlers",
    "to_torch": "harness.mat.api",
    "inspect": "harness.mat.api",
}
__all__ = sorted(PUBLIC)
__getattr__ = lazy_names(__name__, PUBLIC)
