"""Convolution (MatConvNet conv, DLT Convolution2DLayer / GroupedConvolution2DLayer) and
transposed convolution (MatConvNet convt, DLT TransposedConvolution2DLayer).

Padding is MATLAB's [top bottom left right], asymmetric; filters are correlation kernels
kH×kW×(C/G)×F (MatConvNet infers the groups from the filter depth, DLT stores
kH×kW×Cpg×Fpg×G). A transposed convolution's output is u·(H−1) + kH − crop_top −
crop_bottom; MatConvNet's convt may have groups (numGroups), DLT's has none.
"""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import DLT, IMAGE, MatLayer, Size, normal, row
from harness.sources.mat.registration import register

CONV_DOMAINS = {
    "k": [1, 2, 3],
    "stride": [1, 2],
    "dilation": [1, 2],
    "pad": [0, 1, 2],
    "groups": [1, 2, 3, 4],
    "filters_per_group": [1, 2, 3],
    "bias": [True, False],
}


def _fits(kernel: int, dilation: int, padded: int) -> bool:
    return (kernel - 1) * dilation + 1 <= padded


def _draw_conv(pick, size, fmt):
    dilation = [pick("dilation"), pick("dilation")]
    pad = [pick("pad") for _ in range(4)]
    kh = pick("k", [k for k in CONV_DOMAINS["k"]
                    if _fits(k, dilation[0], size.height + pad[0] + pad[1])])
    kw = pick("k", [k for k in CONV_DOMAINS["k"]
                    if _fits(k, dilation[1], size.width + pad[2] + pad[3])])
    groups = pick("groups", [g for g in CONV_DOMAINS["groups"] if size.channels % g == 0])
    return {"k": [kh, kw], "filters": groups * pick("filters_per_group"),
            "stride": [pick("stride"), pick("stride")], "dilation": dilation, "pad": pad,
            "groups": groups, "bias": pick("bias")}


def _conv_output(attrs, size):
    (kh, kw), (sy, sx), (dy, dx), pad = attrs["k"], attrs["stride"], attrs["dilation"], \
        attrs["pad"]
    return Size.image((size.height + pad[0] + pad[1] - (kh - 1) * dy - 1) // sy + 1,
                      (size.width + pad[2] + pad[3] - (kw - 1) * dx - 1) // sx + 1,
                      attrs["filters"])


def _conv_weights(attrs, size, rng):
    kh, kw = attrs["k"]
    filters = attrs["filters"]
    return {"w": normal(rng, kh, kw, size.channels // attrs["groups"], filters),
            "b": normal(rng, filters) if attrs["bias"] else None}


def _conv_reference(x, attrs, w, size):
    return ref.conv(x, w["w"], w["b"], attrs["stride"], attrs["pad"], attrs["dilation"],
                    attrs["groups"])


def _conv_arrays(w):
    return [w["w"]] + ([w["b"].reshape(-1, 1)] if w["b"] is not None else [])


def _conv_simplenn(attrs, w, size):
    return "conv", {"stride": row(attrs["stride"]), "pad": row(attrs["pad"]),
                    "dilate": row(attrs["dilation"])}, _conv_arrays(w)


def _conv_dagnn(attrs, w, size):
    return "dagnn.Conv", {"size": row(w["w"].shape), "hasBias": np.array([[w["b"] is not None]]),
                          "pad": row(attrs["pad"]), "stride": row(attrs["stride"]),
                          "dilate": row(attrs["dilation"])}, _conv_arrays(w)


def _conv_dlt(attrs, w, size):
    kh, kw = attrs["k"]
    groups, filters, channels = attrs["groups"], attrs["filters"], size.channels
    common = {"FilterSize": row([kh, kw]), "Stride": row(attrs["stride"]),
              "DilationFactor": row(attrs["dilation"]), "PaddingMode": "manual",
              "PaddingSize": row(attrs["pad"]), "PaddingValue": row([0])}
    bias = w["b"] if w["b"] is not None else np.zeros(filters, np.float32)
    if groups == 1:
        return "Convolution2DLayer", {"NumChannels": row([channels]),
                                      "NumFilters": row([filters]), "Weights": w["w"],
                                      "Bias": bias.reshape(1, 1, -1), **common}
    fpg = filters // groups
    # kH×kW×Cpg×F → kH×kW×Cpg×Fpg×G (filter g·Fpg + f is entry (f, g))
    grouped = w["w"].reshape(kh, kw, channels // groups, groups, fpg).transpose(0, 1, 2, 4, 3)
    return "GroupedConvolution2DLayer", {
        "NumGroups": row([groups]), "NumChannelsPerGroup": row([channels // groups]),
        "NumFiltersPerGroup": row([fpg]), "Weights": grouped,
        "Bias": bias.reshape(groups, fpg).T.reshape(1, 1, fpg, groups), **common}


register(MatLayer(
    name="conv", family="convolution", takes=(IMAGE,), domains=CONV_DOMAINS,
    draw=_draw_conv, output=_conv_output, weights=_conv_weights, reference=_conv_reference,
    simplenn=_conv_simplenn, dagnn=_conv_dagnn, dlt=_conv_dlt,
    doc="2-D convolution: asymmetric padding, stride, dilation, groups, optional bias"))


CONVT_DOMAINS = {
    "k": [1, 2, 3],
    "upsample": [1, 2],
    "crop": [0, 1],
    "filters": [1, 2, 3],
    "groups": [1, 2, 3, 4],
}


def _draw_convt(pick, size, fmt):
    kh, kw = pick("k"), pick("k")
    crop = [pick("crop", range((kh - 1) // 2 + 1)) for _ in range(2)] + \
        [pick("crop", range((kw - 1) // 2 + 1)) for _ in range(2)]
    groups = 1 if fmt == DLT else pick(
        "groups", [g for g in CONVT_DOMAINS["groups"] if size.channels % g == 0])
    return {"k": [kh, kw], "filters": pick("filters"),
            "upsample": [pick("upsample"), pick("upsample")], "crop": crop, "groups": groups}


def _convt_output(attrs, size):
    (kh, kw), (uy, ux), crop = attrs["k"], attrs["upsample"], attrs["crop"]
    return Size.image(uy * (size.height - 1) + kh - crop[0] - crop[1],
                      ux * (size.width - 1) + kw - crop[2] - crop[3],
                      attrs["filters"] * attrs["groups"])


def _convt_weights(attrs, size, rng):
    kh, kw = attrs["k"]
    return {"w": normal(rng, kh, kw, attrs["filters"], size.channels),
            "b": normal(rng, attrs["filters"] * attrs["groups"])}


def _convt_simplenn(attrs, w, size):
    return "convt", {"upsample": row(attrs["upsample"]), "crop": row(attrs["crop"]),
                     "numGroups": row([attrs["groups"]])}, [w["w"], w["b"].reshape(-1, 1)]


def _convt_dagnn(attrs, w, size):
    _, fields, arrays = _convt_simplenn(attrs, w, size)
    return "dagnn.ConvTranspose", {"size": row(w["w"].shape), "hasBias": np.array([[True]]),
                                   **fields}, arrays


def _convt_dlt(attrs, w, size):
    kh, kw = attrs["k"]
    return "TransposedConvolution2DLayer", {
        "FilterSize": row([kh, kw]), "NumChannels": row([size.channels]),
        "NumFilters": row([attrs["filters"]]), "Stride": row(attrs["upsample"]),
        "CroppingMode": "manual", "CroppingSize": row(attrs["crop"]), "Weights": w["w"],
        "Bias": w["b"].reshape(1, 1, -1)}


register(MatLayer(
    name="convt", family="convolution", takes=(IMAGE,), domains=CONVT_DOMAINS,
    draw=_draw_convt, output=_convt_output, weights=_convt_weights,
    reference=lambda x, attrs, w, size: ref.convt(x, w["w"], w["b"], attrs["upsample"],
                                                  attrs["crop"], attrs["groups"]),
    simplenn=_convt_simplenn, dagnn=_convt_dagnn, dlt=_convt_dlt,
    doc="2-D transposed convolution: upsampling, cropping, groups (MatConvNet)"))
