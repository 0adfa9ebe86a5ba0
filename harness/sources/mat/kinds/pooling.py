"""Pooling: max and average (MatConvNet pool, DLT Max/AveragePooling2DLayer) and DLT's
global average and max pooling.

Max pooling pads with −Inf; average pooling divides by the window's unpadded pixel count
(MatConvNet, DLT PaddingValue 'mean') or by the full window (DLT PaddingValue 0).
"""

from __future__ import annotations

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import DLT, IMAGE, MatLayer, Size, dagnn_block, row
from harness.sources.mat.registration import register

POOL_DOMAINS = {
    "method": ["max", "avg"],
    "k": [1, 2, 3],
    "stride": [1, 2],
    "pad": [0, 1, 2],
    "count_pad": [False, True],
}


def _draw_pool(pick, size, fmt):
    method = pick("method")
    kh = pick("k", [k for k in POOL_DOMAINS["k"] if k <= size.height])
    kw = pick("k", [k for k in POOL_DOMAINS["k"] if k <= size.width])
    pad = [pick("pad", range(kh)), pick("pad", range(kh)), pick("pad", range(kw)),
           pick("pad", range(kw))]
    return {"method": method, "k": [kh, kw], "stride": [pick("stride"), pick("stride")],
            "pad": pad,
            "count_pad": fmt == DLT and method == "avg" and pick("count_pad")}


def _pool_output(attrs, size):
    (kh, kw), (sy, sx), pad = attrs["k"], attrs["stride"], attrs["pad"]
    return Size.image((size.height + pad[0] + pad[1] - kh) // sy + 1,
                      (size.width + pad[2] + pad[3] - kw) // sx + 1, size.channels)


def _pool_simplenn(attrs, w, size):
    return "pool", {"method": attrs["method"], "pool": row(attrs["k"]),
                    "stride": row(attrs["stride"]), "pad": row(attrs["pad"])}, []


def _pool_dlt(attrs, w, size):
    common = {"PoolSize": row(attrs["k"]), "Stride": row(attrs["stride"]),
              "PaddingMode": "manual", "PaddingSize": row(attrs["pad"])}
    if attrs["method"] == "max":
        return "MaxPooling2DLayer", common
    return "AveragePooling2DLayer", {"PaddingValue": row([0]) if attrs["count_pad"] else "mean",
                                     **common}


register(MatLayer(
    name="pool", family="pooling", takes=(IMAGE,), domains=POOL_DOMAINS, draw=_draw_pool,
    output=_pool_output,
    reference=lambda x, attrs, w, size: ref.pool(x, attrs["method"], attrs["k"],
                                                 attrs["stride"], attrs["pad"],
                                                 attrs["count_pad"]),
    simplenn=_pool_simplenn,
    dagnn=dagnn_block("dagnn.Pooling", _pool_simplenn, rename={"pool": "poolSize"}),
    dlt=_pool_dlt,
    doc="max (−Inf padding) and average pooling (padding excluded, or counted in DLT)"))

register(MatLayer(
    name="gpool", family="pooling", takes=(IMAGE,), domains={"method": ["avg", "max"]},
    draw=lambda pick, size, fmt: {"method": pick("method")},
    output=lambda attrs, size: Size.image(1, 1, size.channels),
    reference=lambda x, attrs, w, size: ref.global_pool(x, attrs["method"]),
    dlt=lambda attrs, w, size: ("GlobalMaxPooling2DLayer" if attrs["method"] == "max"
                                else "GlobalAveragePooling2DLayer", {}),
    doc="DLT global average / max pooling: H×W×C → 1×1×C"))
