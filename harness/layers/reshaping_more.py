"""More reshaping: ZeroPadding1D/3D, Cropping1D/3D, UpSampling1D/3D, RepeatVector."""

from __future__ import annotations

from harness.layers._base import BATCH, DATA_FORMATS, channel_shape, draw_spatial
from harness.layers.reshaping import CROP_DOMAINS, PAD_DOMAINS
from harness.registry import LayerKind, Picker, register

PAD_1D_DOMAINS = {k: v for k, v in PAD_DOMAINS.items() if k != "data_format"}
PAD_3D_DOMAINS = {**PAD_DOMAINS}


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


def _draw_zero_padding(rank: int):
    def draw(pick: Picker):
        data_format = "channels_last" if rank == 1 else pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=4 if rank == 1 else 2)
        attrs = {"padding": _draw_amounts(pick, "padding", PAD_DOMAINS["padding"], rank)}
        if rank == 3:
            attrs["data_format"] = data_format
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


def _draw_cropping(rank: int):
    def draw(pick: Picker):
        data_format = "channels_last" if rank == 1 else pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=5 if rank == 1 else 3)
        limits = [s - 1 for s in spatial]
        attrs = {"cropping": _draw_amounts(pick, "cropping", CROP_DOMAINS["cropping"], rank, limits)}
        if rank == 3:
            attrs["data_format"] = data_format
        return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]

    return draw


for _rank, _pad in ((1, PAD_1D_DOMAINS), (3, PAD_3D_DOMAINS)):
    _crop_domains = {k: v for k, v in CROP_DOMAINS.items() if _rank == 3 or k != "data_format"}
    register(
        LayerKind(
            name=f"ZeroPadding{_rank}D",
            family="reshaping",
            domains=_pad,
            draw=_draw_zero_padding(_rank),
        )
    )
    register(
        LayerKind(
            name=f"Cropping{_rank}D",
            family="reshaping",
            domains=_crop_domains,
            draw=_draw_cropping(_rank),
        )
    )

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
