"""Wrappers: TimeDistributed around Dense or Conv2D."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_TRUE_FIRST,
    DATA_FORMATS,
    FUSED_ACTIVATIONS,
    channel_shape,
    draw_spatial,
    per_axis,
    resolve_activation,
)

TIME_DISTRIBUTED_DOMAINS = {
    "layer": ["Dense", "Conv2D"],
    "units": [1, 2, 3, 4],
    "filters": [1, 2, 3],
    "kernel_size": [1, 2, 3],
    "strides": [1, 2],
    "padding": ["valid", "same"],
    "use_bias": BOOLS_TRUE_FIRST,
    "activation": FUSED_ACTIVATIONS,
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_time_distributed(pick: Picker):
    inner = pick("layer")
    batch = pick("batch")
    steps = 1 + pick.draw(st.integers(0, 3))
    if inner == "Dense":
        extra = [1 + pick.draw(st.integers(0, 2)) for _ in range(pick.draw(st.integers(0, 1)))]
        attrs = {
            "layer": inner,
            "units": pick("units"),
            "use_bias": pick("use_bias"),
            "activation": pick("activation"),
        }
        return attrs, [(batch, steps, *extra, pick("channels"))]
    kernel = per_axis(pick, "kernel_size", 2)
    data_format = pick("data_format")
    spatial = draw_spatial(pick, kernel, slack=2)
    attrs = {
        "layer": inner,
        "filters": pick("filters"),
        "kernel_size": kernel,
        "strides": per_axis(pick, "strides", 2),
        "padding": pick("padding"),
        "use_bias": pick("use_bias"),
        "activation": pick("activation"),
        "data_format": data_format,
    }
    frame = channel_shape(batch, spatial, pick("channels"), data_format)
    return attrs, [(frame[0], steps, *frame[1:])]


def _build_time_distributed(attrs: dict):
    import keras

    inner = getattr(keras.layers, attrs.pop("layer"))(**resolve_activation(attrs))
    return keras.layers.TimeDistributed(inner, name="time_distributed")


register(
    LayerKind(
        name="TimeDistributed",
        family="wrappers",
        domains=TIME_DISTRIBUTED_DOMAINS,
        draw=_draw_time_distributed,
        build=_build_time_distributed,
        doc="TimeDistributed(layer(**attrs)): attrs other than layer are the wrapped layer's.",
    )
)
