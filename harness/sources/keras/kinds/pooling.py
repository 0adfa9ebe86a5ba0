"""Pooling: Max/AveragePooling1D/2D/3D and the global poolings in 1, 2 and 3 dimensions."""

from __future__ import annotations

from harness.core.registry import Picker
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_FALSE_FIRST,
    DATA_FORMATS,
    channel_shape,
    draw_spatial,
    register_per_rank,
)

POOL_DOMAINS = {
    "pool_size": [1, 2, 3],
    "strides": [None, 1, 2, 3],
    "padding": ["valid", "same"],
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_pool(rank: int):
    def draw(pick: Picker):
        pool = [pick("pool_size") for _ in range(rank)]
        strides = pick("strides")
        if strides is not None:
            strides = [pick("strides", POOL_DOMAINS["strides"][1:]) for _ in range(rank)]
        data_format = pick("data_format")
        spatial = draw_spatial(pick, pool)
        attrs = {
            "pool_size": pool,
            "strides": strides,
            "padding": pick("padding"),
            "data_format": data_format,
        }
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


for _op in ("Max", "Average"):
    register_per_rank(_op + "Pooling{rank}D", "pooling", POOL_DOMAINS, _draw_pool)

GLOBAL_DOMAINS = {
    "data_format": DATA_FORMATS,
    "keepdims": BOOLS_FALSE_FIRST,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_global(rank: int):
    def draw(pick: Picker):
        data_format = pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=2 if rank == 3 else 4)
        attrs = {"data_format": data_format, "keepdims": pick("keepdims")}
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


for _op in ("Average", "Max"):
    register_per_rank("Global" + _op + "Pooling{rank}D", "pooling", GLOBAL_DOMAINS, _draw_global)
