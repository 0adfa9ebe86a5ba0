"""Stateful Keras layers (an RNN with ``stateful=True``) carry their state from one call to
the next: a model read or converted after an earlier call computes from that call's state,
and tf2onnx freezes it into the graph. Every reading and conversion of a Keras model
(Keras 3 or tf_keras) starts from the reset state."""

from __future__ import annotations

import numpy as np


def stateful_layers(model) -> list:
    """The model's layers, nested ones included, that keep state across calls."""
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=False, recursive=True)) if flatten else []
    return [layer for layer in layers
            if getattr(layer, "stateful", False) is True and _resetter(layer) is not None]


def _resetter(layer):
    # tf_keras names it reset_states; Keras 3 keeps that name beside reset_state.
    return getattr(layer, "reset_states", None) or getattr(layer, "reset_state", None)


def reset_states(model) -> int:
    """Resets each stateful layer of ``model``; the number reset."""
    layers = stateful_layers(model)
    for layer in layers:
        _resetter(layer)()
    return len(layers)


def ensure_called(model) -> None:
    """Calls ``model`` once on zeros of its inputs' shapes (a free dimension as 1) where it
    has never been called. Keras' own export refuses such a model ("The model provided has
    never called"), and a model rebuilt from the stage cache, whose reading was a hit, has not
    been; a fresh reading leaves it called. Reset its state afterwards (``reset_states``)."""
    if getattr(model, "_called", True):
        return
    zeros = [np.zeros([d or 1 for d in tensor.shape], tensor.dtype) for tensor in model.inputs]
    model(zeros if len(zeros) > 1 else zeros[0])
