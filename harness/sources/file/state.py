"""A Keras model that keeps state across calls (a stateful RNN): parity reads and converts it
from its reset state, says so, and calls it twice on the same inputs after a reset, since
outputs that depend on earlier calls are a finding of their own."""

from __future__ import annotations

import numpy as np

from harness.converters.keras2 import run_tf_keras
from harness.converters.keras_state import reset_states, stateful_layers
from harness.runtimes.keras import as_arrays, keras_inputs, run_keras
from harness.sources.file.loaded import KERAS_STARTS, LoadedModel


def keras_model(loaded: LoadedModel):
    """The Keras model a reading calls (tf_keras' for a Keras-2 file), or None."""
    if loaded.start not in KERAS_STARTS:
        return None
    return loaded.legacy if loaded.legacy is not None else loaded.model


def run_from_reset(loaded: LoadedModel, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs from its reset state; the state is left reset for what comes
    next (a conversion that parity's stages do not reset themselves)."""
    model = keras_model(loaded)
    if loaded.legacy is not None:
        return run_tf_keras(model, inputs)
    reset_states(model)
    try:
        return run_keras(model, inputs)
    finally:
        reset_states(model)


def reset_note(loaded: LoadedModel) -> str | None:
    """What parity does about the model's state; None for a model without stateful layers."""
    model = keras_model(loaded)
    layers = [] if model is None else stateful_layers(model)
    if not layers:
        return None
    names = ", ".join(repr(layer.name) for layer in layers[:4]) + (
        ", ..." if len(layers) > 4 else "")
    return (f"reset the state of {_count(layers)} ({names}) before each reading and "
            f"conversion")


def second_call_note(loaded: LoadedModel, inputs: list[np.ndarray]) -> str | None:
    """Where a second call on the same inputs after a reset computes something else, by
    how much; None where it computes the same."""
    model = keras_model(loaded)
    layers = stateful_layers(model)
    reset_states(model)
    try:
        first, second = _call(model, inputs), _call(model, inputs)
    finally:
        reset_states(model)
    apart = max((float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
                 for a, b in zip(first, second) if np.asarray(a).size), default=0.0)
    if apart == 0:
        return None
    return (f"the model's outputs depend on earlier calls: called twice on the same inputs "
            f"after a reset, the second call differs from the first by max_abs {apart:.3g} "
            f"(state its {_count(layers)} carried over); every verdict here is for "
            f"the model called once from its reset state")


def _count(layers: list) -> str:
    return f"{len(layers)} stateful layer{'s' if len(layers) > 1 else ''}"


def _call(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """One call as a user makes it, the state left as the call leaves it."""
    return as_arrays(model(keras_inputs(model, inputs), training=False))
