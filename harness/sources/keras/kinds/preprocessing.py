"""Preprocessing layers that are part of a model's graph: Rescaling, Normalization (with
given statistics, so nothing is adapted), Resizing."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_FALSE_FIRST,
    DATA_FORMATS,
    channel_shape,
    draw_spatial,
)

RESCALING_DOMAINS = {
    "scale": [1.0 / 255, 2.0, -0.5, 1.0],
    "offset": [0.0, -1.0, 0.5],
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _shape(pick: Picker) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))


def _draw_rescaling(pick: Picker):
    return {"scale": pick("scale"), "offset": pick("offset")}, [_shape(pick)]


register(
    LayerKind(
        name="Rescaling", family="preprocessing", domains=RESCALING_DOMAINS, draw=_draw_rescaling
    )
)

# mean and variance are drawn element by element from these values, one per position of the
# kept axes (or one scalar for axis=None).
NORMALIZATION_DOMAINS = {
    "axis": [-1, None, 1, [1, -1]],
    "mean": [0.0, 0.5, -1.5, 2.0],
    "variance": [1.0, 0.25, 4.0, 2.0],
    "invert": BOOLS_FALSE_FIRST,
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _draw_normalization(pick: Picker):
    shape = _shape(pick)
    rank = len(shape)
    axis = pick("axis", [a for a in NORMALIZATION_DOMAINS["axis"] if a != [1, -1] or rank > 2])
    if axis is None:
        kept: tuple[int, ...] = ()
    else:
        axes = [axis] if isinstance(axis, int) else axis
        kept = tuple(shape[a] for a in sorted({a % rank for a in axes}))
    count = 1
    for size in kept:
        count *= size

    def stats(attr: str):
        values = [pick(attr) for _ in range(count)]
        if not kept:
            return values[0]
        # Nested lists shaped like the kept axes.
        for size in reversed(kept[1:]):
            values = [values[i:i + size] for i in range(0, len(values), size)]
        return values

    attrs = {"axis": axis, "mean": stats("mean"), "variance": stats("variance"),
             "invert": pick("invert")}
    return attrs, [shape]


register(
    LayerKind(
        name="Normalization",
        family="preprocessing",
        domains=NORMALIZATION_DOMAINS,
        draw=_draw_normalization,
    )
)

RESIZING_DOMAINS = {
    "height": [1, 2, 3, 4, 6],
    "width": [1, 2, 3, 4, 6],
    "interpolation": ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"],
    "crop_to_aspect_ratio": BOOLS_FALSE_FIRST,
    "pad_to_aspect_ratio": BOOLS_FALSE_FIRST,
    "fill_value": [0.0, 1.5],
    "antialias": BOOLS_FALSE_FIRST,
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_resizing(pick: Picker):
    data_format = pick("data_format")
    spatial = [1 + pick.draw(st.integers(0, 5)) for _ in range(2)]
    crop = pick("crop_to_aspect_ratio")
    # Keras accepts only one of crop_to_aspect_ratio and pad_to_aspect_ratio.
    pad = False if crop else pick("pad_to_aspect_ratio")
    attrs = {
        "height": pick("height"),
        "width": pick("width"),
        "interpolation": pick("interpolation"),
        "crop_to_aspect_ratio": crop,
        "pad_to_aspect_ratio": pad,
        "antialias": pick("antialias"),
        "data_format": data_format,
    }
    if pad:
        attrs["fill_value"] = pick("fill_value")
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


register(
    LayerKind(
        name="Resizing", family="preprocessing", domains=RESIZING_DOMAINS, draw=_draw_resizing
    )
)
