"""Builds the source model of a layer case in Keras and computes the reference outputs."""

from __future__ import annotations

import re

import numpy as np

from harness import registry
from harness.inputs import draw_weight, weight_rng
from harness.spec import LayerSpec


def layer_name(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", kind).lower()


def build_model(spec: LayerSpec):
    """A one-layer functional model with weights drawn from the spec's seed."""
    import keras

    kind = registry.get(spec.kind)
    inputs = [
        keras.Input(shape=shape[1:], dtype=spec.dtype, name=f"input_{i}")
        for i, shape in enumerate(spec.input_shapes)
    ]
    layer = kind.keras_layer(spec.attrs, name=layer_name(spec.kind))
    outputs = layer(inputs if len(inputs) > 1 else inputs[0])
    model_inputs = inputs if len(inputs) > 1 else inputs[0]
    model = keras.Model(model_inputs, outputs, name=f"parity_{layer_name(spec.kind)}")
    set_drawn_weights(model, spec)
    return model


def set_drawn_weights(model, spec: LayerSpec) -> None:
    rng = weight_rng(spec)
    for variable in model.weights:
        shape = tuple(variable.shape)
        variable.assign(draw_weight(variable.path, shape, rng).astype(variable.dtype))


def run_keras(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    # Calling the model, not predict(): predict costs ~80 ms a call in set-up alone.
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]
