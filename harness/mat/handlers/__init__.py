"""Layer handlers: one function per MATLAB layer type, `fn(layer) -> torch.nn.Module`.

A handler receives a `harness.mat.Layer` (type, name, `params` as NumPy arrays in MATLAB
layout, `attrs` with every other field) and returns a module that takes PyTorch layouts. A
layer with several inputs gets them as one `list[Tensor]` (so does a module whose class sets
`takes_list = True`). Register a handler for a custom layer type with
`register_layer_handler(type, fn)`, or pass `handlers={type: fn}` to `to_torch`, which
takes precedence over the registry.
"""

from __future__ import annotations

# The handler modules register the built-in handlers as they load: this import list is the
# registry of handler families.
from harness.mat.handlers import dlt, matconvnet  # noqa: F401
from harness.mat.handlers.table import (  # noqa: F401
    _BUILTIN,
    _USER,
    Handler,
    builtin,
    register_layer_handler,
    unregister_layer_handler,
)


def find_handler(layer_type: str, overrides: dict[str, Handler] | None = None) -> Handler | None:
    for handlers in (overrides or {}, _USER, _BUILTIN):
        if layer_type in handlers:
            return handlers[layer_type]
    return None


def supported_types() -> list[str]:
    return sorted(set(_BUILTIN) | set(_USER))

