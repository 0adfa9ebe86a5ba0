"""Merges: two 3×3 convolutions on what flows in, joined by a sum (DagNN dagnn.Sum, DLT
AdditionLayer) or a channel concatenation (DagNN dagnn.Concat over dimension 3, DLT
DepthConcatenationLayer or ConcatenationLayer(Dim 3)). SimpleNN networks are chains: no
merge."""

from __future__ import annotations

import numpy as np

from harness.sources.mat.layer import DLT, IMAGE, MatLayer, Size, row
from harness.sources.mat.registration import register


def _branch(filters: int) -> dict:
    return {"k": [3, 3], "filters": filters, "stride": [1, 1], "dilation": [1, 1],
            "pad": [1, 1, 1, 1], "groups": 1, "bias": True}


def _lead_in(same_filters: bool):
    def lead_in(pick, size, fmt):
        first = pick("filters")
        second = first if same_filters else pick("filters")
        return [("conv", _branch(first)), ("conv", _branch(second))]

    return lead_in


register(MatLayer(
    name="sum", family="merge", takes=(IMAGE,), domains={"filters": [1, 2, 3, 4]},
    inputs=2, lead_in=_lead_in(True), chains=False,
    draw=lambda pick, sizes, fmt: {},
    output=lambda attrs, sizes: sizes[0],
    reference=lambda xs, attrs, w, sizes: xs[0] + xs[1],
    dagnn=lambda attrs, w, sizes: ("dagnn.Sum", {}, []),
    dlt=lambda attrs, w, sizes: ("AdditionLayer", {"NumInputs": row([2])}),
    doc="element-wise sum of two branches"))


def _concat_dlt(attrs, w, sizes):
    if attrs["layer"] == "depth":
        return "DepthConcatenationLayer", {"NumInputs": row([2])}
    return "ConcatenationLayer", {"NumInputs": row([2]), "Dim": row([3])}


register(MatLayer(
    name="concat", family="merge", takes=(IMAGE,),
    domains={"filters": [1, 2, 3, 4], "layer": ["depth", "dim3"]},
    inputs=2, lead_in=_lead_in(False), chains=False,
    draw=lambda pick, sizes, fmt: {"layer": pick("layer")} if fmt == DLT else {},
    output=lambda attrs, sizes: Size.image(sizes[0].height, sizes[0].width,
                                           sum(s.channels for s in sizes)),
    reference=lambda xs, attrs, w, sizes: np.concatenate(xs, axis=2),
    dagnn=lambda attrs, w, sizes: ("dagnn.Concat", {"dim": row([3])}, []),
    dlt=_concat_dlt,
    doc="channel concatenation of two branches"))
