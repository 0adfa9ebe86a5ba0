"""Layer handlers: one function per MATLAB layer type, `fn(layer) -> torch.nn.Module`.

A handler receives a `harness.mat.Layer` (type, name, `params` as NumPy arrays in MATLAB
layout, `attrs` with every other field) and returns a module that takes PyTorch layouts. A
layer with several inputs gets them as one `list[Tensor]` (so does a module whose class sets
`takes_list = True`). Register a handler for a custom layer type with
`register_layer_handler(type, fn)`, or pass `handlers={type: fn}` to `to_torch`, which
takes precedence over the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from harness.mat.network import Layer

Handler = Callable[[Layer], nn.Module]

_BUILTIN: dict[str, Handler] = {}
_USER: dict[str, Handler] = {}


def builtin(*layer_types: str) -> Callable[[Handler], Handler]:
    """Decorator for the handlers this package ships."""

    def register(fn: Handler) -> Handler:
        for layer_type in layer_types:
            _BUILTIN[layer_type] = fn
        return fn

    return register


def register_layer_handler(layer_type: str, fn: Handler | None = None):
    """Register `fn(layer) -> nn.Module` for layers of `layer_type` (a MatConvNet type such as
    'SubP' or a Deep Learning Toolbox class name). It overrides a built-in handler of the same
    type. Usable as a decorator: `@register_layer_handler('SubP')`."""
    if not isinstance(layer_type, str) or not layer_type:
        raise TypeError("layer_type must be a non-empty string such as 'SubP'")

    def register(handler: Handler) -> Handler:
        if not callable(handler):
            raise TypeError(f"the handler for {layer_type!r} must be callable, not "
                            f"{type(handler).__name__}")
        _USER[layer_type] = handler
        return handler

    return register(fn) if fn is not None else register


def unregister_layer_handler(layer_type: str) -> None:
    """Remove a handler registered with `register_layer_handler` (built-ins stay)."""
    _USER.pop(layer_type, None)


def find_handler(layer_type: str, overrides: dict[str, Handler] | None = None) -> Handler | None:
    _load_builtins()
    for table in (overrides or {}, _USER, _BUILTIN):
        if layer_type in table:
            return table[layer_type]
    return None


def supported_types() -> list[str]:
    _load_builtins()
    return sorted(set(_BUILTIN) | set(_USER))


def _load_builtins() -> None:
    # Imported lazily: the handler modules import torch-heavy code and register on import.
    from harness.mat.handlers import dlt, matconvnet  # noqa: F401
