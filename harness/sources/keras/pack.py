"""Several single-layer Keras cases as the independent branches of one model, so that one
conversion serves them all (as tf2onnx's own tests pack layers).

Branch ``i`` is ``input_i -> its case's layer -> its outputs``: the layer is built again
from the case's attributes under its own name (``b<i>_<layer>``, so names stay apart) and
given the case's own drawn weights, copied from the case's model (``build_model``), so
that each branch computes exactly what its case's model computes. Branches share nothing.

A case packs when it is one layer on one input read by Keras alone: a kind that builds its
own model (whole architectures, drawn models, wrappers that do), a layer of several inputs,
and a channels_first convolution (read through its channels_last twin, a second reading
whose source leg the packed run would not give) run one by one. Cases pack with others of
the same dtype (one Keras policy per model) and the same number of sizes (each size runs
the packed model once, every branch at its own case's shapes).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from harness.core import registry
from harness.core.free_dims import declared_shape
from harness.core.inputs import input_dtypes
from harness.core.spec import LayerSpec
from harness.runtimes.keras import keras_policy
from harness.sources.keras.model import channels_last_twin, layer_name


def why_unpackable(spec: LayerSpec) -> str | None:
    """Why the case cannot be a branch of a packed model, or None when it can."""
    if spec.source != "keras":
        return f"a {spec.source} case, not a Keras layer"
    kind = registry.get(spec.kind)
    if kind.build_model is not None:
        return f"{spec.kind} builds a model of its own"
    if len(spec.input_shapes) != 1:
        return f"{spec.kind} takes {len(spec.input_shapes)} inputs"
    if channels_last_twin(spec) is not None:
        return "a channels_first convolution, read through its channels_last twin"
    return None


def pack_key(spec: LayerSpec) -> tuple[str, int]:
    """Cases with the same key can share a packed model: the dtype it is built in and how
    many sizes each branch is run at."""
    return spec.dtype, 1 + len(spec.more_shapes)


class Packed(NamedTuple):
    """A packed model and, per branch (in the order of its specs), how many of the model's
    outputs are that branch's."""
    model: Any
    outputs_per_branch: tuple[int, ...]

    def split(self, outputs: list[np.ndarray]) -> list[list[np.ndarray]]:
        """The model's outputs, branch by branch."""
        branches, start = [], 0
        for count in self.outputs_per_branch:
            branches.append(list(outputs[start:start + count]))
            start += count
        return branches


def pack(specs: list[LayerSpec], models: list[Any], numbers: list[int] | None = None) -> Packed:
    """One functional model whose branch ``i`` is ``specs[i]``'s layer with the weights of
    ``models[i]``, that case's own model (``harness.sources.keras.model.build_model``). The
    branch's layer is named ``b<n>_<layer>``, ``n`` its number in ``numbers`` (default: its
    position), so that a converter's message that names a node names its branch."""
    import keras

    keys = {pack_key(spec) for spec in specs}
    if len(keys) != 1:
        raise ValueError(f"cases of different dtypes or size counts do not pack: {sorted(keys)}")
    for spec in specs:
        why = why_unpackable(spec)
        if why is not None:
            raise ValueError(f"{spec.describe()} does not pack: {why}")
    inputs, outputs, counts, copies = [], [], [], []
    with keras_policy(specs[0].dtype):
        for i, (spec, own) in enumerate(zip(specs, models)):
            x = keras.Input(shape=declared_shape(spec, 0)[1:], dtype=input_dtypes(spec)[0],
                            name=f"input_{i}")
            name = f"b{i if numbers is None else numbers[i]}_{layer_name(spec.kind)}"
            layer = registry.get(spec.kind).keras_layer(spec.attrs, name=name)
            layer.name = name  # a kind's own build names its layer as it likes
            y = layer(x)
            branch = list(y) if isinstance(y, (list, tuple)) else [y]
            inputs.append(x)
            outputs.extend(branch)
            counts.append(len(branch))
            copies.append((layer, _own_layer(own)))
        model = keras.Model(inputs, outputs, name="parity_pack")
    for layer, own in copies:
        layer.set_weights(own.get_weights())
    return Packed(model, tuple(counts))


def _own_layer(model):
    """The one layer of a case's one-layer model (after its input layer)."""
    layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
    if len(layers) != 1:
        raise ValueError(f"{model.name} holds {len(layers)} layers, not one")
    return layers[0]
