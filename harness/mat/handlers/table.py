"""The handler tables: the built-in handlers (filled as the handler modules load, with
``builtin``) and the user's (``register_layer_handler``)."""

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
