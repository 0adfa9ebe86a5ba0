"""Pieces shared by the layer families: common domains and shape arithmetic."""

from __future__ import annotations

import math
from typing import Any

from harness.core.registry import KERAS, LayerKind, Picker, register, register_layer_builder
from harness.runtimes.keras_custom import gelu_tanh

# Activation functions as spec values. Keras accepts most by name; the ones it does not
# (the tanh approximation of GELU) are resolved in ``keras_activation``.
ACTIVATIONS = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "swish",
    "softplus",
    "hard_sigmoid",
    "leaky_relu",
    "gelu",
    "gelu_tanh",
]
FUSED_ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "gelu", "swish"]

BATCH = [1, 2]
DATA_FORMATS = ["channels_last", "channels_first"]
BOOLS_TRUE_FIRST = [True, False]
BOOLS_FALSE_FIRST = [False, True]


def keras_activation(name: str) -> Any:
    return gelu_tanh() if name == "gelu_tanh" else name


def resolve_activation(attrs: dict[str, Any]) -> dict[str, Any]:
    if "activation" in attrs:
        attrs = {**attrs, "activation": keras_activation(attrs["activation"])}
    return attrs


def build_layer(kind, attrs: dict[str, Any], name: str | None = None) -> Any:
    """The Keras layer of a kind without a ``build`` of its own: ``keras.layers.<name>``
    (``LayerKind.keras_layer``); Keras is imported here, never at module import."""
    import keras

    return getattr(keras.layers, kind.name)(**resolve_activation(attrs), name=name)


register_layer_builder(KERAS, build_layer)


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return math.ceil(size / stride)
    return (size - effective) // stride + 1


def channel_shape(batch: int, spatial: list[int], channels: int, data_format: str):
    if data_format == "channels_first":
        return (batch, channels, *spatial)
    return (batch, *spatial, channels)


def draw_spatial(pick: Picker, minimum: list[int], slack: int = 4) -> list[int]:
    """Spatial sizes at least ``minimum`` per axis, shrinking towards the minimum."""
    from hypothesis import strategies as st

    return [m + pick.draw(st.integers(0, slack)) for m in minimum]


def per_axis(pick: Picker, attr: str, rank: int, among=None) -> list[int]:
    return [pick(attr, among) for _ in range(rank)]


def register_per_rank(name: str, family: str, domains, draw_at_rank, ranks=(1, 2, 3)) -> None:
    """One kind per rank of a family whose kinds differ by their rank alone: ``name`` with
    ``{rank}`` filled in, drawn by ``draw_at_rank(rank)``."""
    for rank in ranks:
        register(LayerKind(name=name.format(rank=rank), family=family, domains=domains,
                           draw=draw_at_rank(rank)))
