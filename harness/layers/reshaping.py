"""Reshaping: Flatten, Reshape, Permute, ZeroPadding2D, Cropping2D, UpSampling2D."""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

from harness.layers._base import BATCH, DATA_FORMATS, channel_shape, draw_spatial
from harness.registry import LayerKind, Picker, register

FLATTEN_DOMAINS = {"data_format": DATA_FORMATS, "rank": [2, 3, 4, 5], "batch": BATCH}


def _any_shape(pick: Picker, minimum: int = 1) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [minimum] * (rank - 1)))


def _draw_flatten(pick: Picker):
    return {"data_format": pick("data_format")}, [_any_shape(pick)]


register(LayerKind(name="Flatten", family="reshaping", domains=FLATTEN_DOMAINS, draw=_draw_flatten))

RESHAPE_DOMAINS = {
    "target_rank": [1, 2, 3],
    "infer_one_axis": [False, True],
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _factorisations(n: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 1:
        return [(n,)]
    result = []
    for first in range(1, n + 1):
        if n % first == 0:
            result.extend((first, *rest) for rest in _factorisations(n // first, parts - 1))
    return result


def _draw_reshape(pick: Picker):
    shape = _any_shape(pick)
    total = math.prod(shape[1:])
    target = list(pick.draw(st.sampled_from(_factorisations(total, pick("target_rank")))))
    if pick("infer_one_axis"):
        target[pick.draw(st.integers(0, len(target) - 1))] = -1
    return {"target_shape": target}, [shape]


register(LayerKind(name="Reshape", family="reshaping", domains=RESHAPE_DOMAINS, draw=_draw_reshape))

PERMUTE_DOMAINS = {"rank": [3, 4, 5], "batch": BATCH}


def _draw_permute(pick: Picker):
    shape = _any_shape(pick)
    dims = pick.draw(st.sampled_from(list(itertools.permutations(range(1, len(shape))))))
    return {"dims": list(dims)}, [shape]


register(LayerKind(name="Permute", family="reshaping", domains=PERMUTE_DOMAINS, draw=_draw_permute))

PAD_DOMAINS = {
    "padding": [0, 1, 2, 3],
    "symmetric": [True, False],
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_padding(pick: Picker):
    """An int (the same on every side) or [[top, bottom], [left, right]]."""
    if pick("symmetric"):
        return pick("padding")
    return [[pick("padding"), pick("padding")] for _ in range(2)]


def _draw_zero_padding(pick: Picker):
    data_format = pick("data_format")
    spatial = draw_spatial(pick, [1, 1])
    attrs = {"padding": _draw_padding(pick), "data_format": data_format}
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


register(
    LayerKind(
        name="ZeroPadding2D", family="reshaping", domains=PAD_DOMAINS, draw=_draw_zero_padding
    )
)

CROP_DOMAINS = {**PAD_DOMAINS, "cropping": [0, 1, 2, 3]}
CROP_DOMAINS.pop("padding")


def _draw_cropping(pick: Picker):
    data_format = pick("data_format")
    spatial = draw_spatial(pick, [1, 1], slack=6)
    # At least one row and column must survive the crop.
    cropping = _draw_crop_pairs(pick, [s - 1 for s in spatial])
    attrs = {"cropping": cropping, "data_format": data_format}
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


def _draw_crop_pairs(pick: Picker, limits: list[int]):
    pairs = []
    for limit in limits:
        before = pick("cropping", [v for v in CROP_DOMAINS["cropping"] if v <= limit])
        after = pick("cropping", [v for v in CROP_DOMAINS["cropping"] if before + v <= limit])
        pairs.append([before, after])
    return pairs


register(
    LayerKind(name="Cropping2D", family="reshaping", domains=CROP_DOMAINS, draw=_draw_cropping)
)

UPSAMPLING_DOMAINS = {
    "size": [1, 2, 3],
    "interpolation": ["nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5"],
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _draw_upsampling(pick: Picker):
    data_format = pick("data_format")
    spatial = draw_spatial(pick, [1, 1])
    attrs = {
        "size": [pick("size"), pick("size")],
        "interpolation": pick("interpolation"),
        "data_format": data_format,
    }
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


register(
    LayerKind(
        name="UpSampling2D", family="reshaping", domains=UPSAMPLING_DOMAINS, draw=_draw_upsampling
    )
)
