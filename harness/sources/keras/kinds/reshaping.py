"""Reshaping: Flatten, Reshape, Permute, ZeroPadding1D/2D/3D, Cropping1D/2D/3D,
UpSampling1D/2D/3D, RepeatVector."""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import BATCH, DATA_FORMATS, channel_shape, draw_spatial

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


def _pairs(pick: Picker, attr: str, domain: list[int], rank: int, limits: list[int] | None):
    pairs = []
    for axis in range(rank):
        limit = None if limits is None else limits[axis]
        before = pick(attr, [v for v in domain if limit is None or v <= limit])
        after = pick(attr, [v for v in domain if limit is None or before + v <= limit])
        pairs.append([before, after])
    return pairs


def _draw_amounts(pick: Picker, attr: str, domain: list[int], rank: int, limits=None):
    """Symmetric: one int for every side; otherwise a (before, after) pair per axis."""
    if pick("symmetric"):
        if limits is not None:
            # Cropping keeps at least one element per axis: 2 * amount <= limit.
            values = [v for v in domain if 2 * v <= min(limits)]
            return pick(attr, values)
        return pick(attr, domain)
    pairs = _pairs(pick, attr, domain, rank, limits)
    return pairs[0] if rank == 1 else pairs


def _zero_padding_draw(rank: int):
    slack = {1: 4, 2: 4, 3: 2}[rank]

    def draw(pick: Picker):
        data_format = "channels_last" if rank == 1 else pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=slack)
        attrs = {"padding": _draw_amounts(pick, "padding", PAD_DOMAINS["padding"], rank)}
        if rank > 1:
            attrs["data_format"] = data_format
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


def _cropping_draw(rank: int):
    slack = {1: 5, 2: 6, 3: 3}[rank]

    def draw(pick: Picker):
        data_format = "channels_last" if rank == 1 else pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=slack)
        limits = [s - 1 for s in spatial]  # at least one element per axis survives the crop
        domain = CROP_DOMAINS["cropping"]
        # Cropping2D draws (before, after) pairs only, as it always has: its cases stay.
        attrs = {"cropping": _pairs(pick, "cropping", domain, rank, limits) if rank == 2
                 else _draw_amounts(pick, "cropping", domain, rank, limits)}
        if rank > 1:
            attrs["data_format"] = data_format
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


register(LayerKind(name="ZeroPadding2D", family="reshaping", domains=PAD_DOMAINS,
                   draw=_zero_padding_draw(2)))
CROP_DOMAINS = {**PAD_DOMAINS, "cropping": [0, 1, 2, 3]}
CROP_DOMAINS.pop("padding")
register(LayerKind(name="Cropping2D", family="reshaping", domains=CROP_DOMAINS,
                   draw=_cropping_draw(2)))

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


def _for_rank(domains: dict, rank: int) -> dict:
    """A kind's domains at ``rank``: the 1D layers take no data_format."""
    return {k: v for k, v in domains.items() if rank > 1 or k != "data_format"}


for _rank in (1, 3):
    register(LayerKind(name=f"ZeroPadding{_rank}D", family="reshaping",
                       domains=_for_rank(PAD_DOMAINS, _rank), draw=_zero_padding_draw(_rank)))
    register(LayerKind(name=f"Cropping{_rank}D", family="reshaping",
                       domains=_for_rank(CROP_DOMAINS, _rank), draw=_cropping_draw(_rank)))

UPSAMPLING_1D_DOMAINS = {"size": [1, 2, 3], "channels": [1, 2, 3], "batch": BATCH}
UPSAMPLING_3D_DOMAINS = {**UPSAMPLING_1D_DOMAINS, "data_format": DATA_FORMATS}


def _draw_upsampling_1d(pick: Picker):
    steps = draw_spatial(pick, [1])
    return {"size": pick("size")}, [(pick("batch"), *steps, pick("channels"))]


def _draw_upsampling_3d(pick: Picker):
    data_format = pick("data_format")
    spatial = draw_spatial(pick, [1, 1, 1], slack=2)
    attrs = {"size": [pick("size") for _ in range(3)], "data_format": data_format}
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


register(
    LayerKind(
        name="UpSampling1D",
        family="reshaping",
        domains=UPSAMPLING_1D_DOMAINS,
        draw=_draw_upsampling_1d,
    )
)
register(
    LayerKind(
        name="UpSampling3D",
        family="reshaping",
        domains=UPSAMPLING_3D_DOMAINS,
        draw=_draw_upsampling_3d,
    )
)

REPEAT_DOMAINS = {"n": [1, 2, 3, 4], "channels": [1, 2, 3], "batch": BATCH}


def _draw_repeat(pick: Picker):
    return {"n": pick("n")}, [(pick("batch"), pick("channels"))]


register(
    LayerKind(name="RepeatVector", family="reshaping", domains=REPEAT_DOMAINS, draw=_draw_repeat)
)
