"""Normalisation: batch norm (MatConvNet bnorm stores [mean, sigma] moments with epsilon
inside sigma; DLT stores the variance and Epsilon), local response normalisation (MatConvNet
lrn param [N kappa alpha beta], even windows too; DLT's Alpha is divided by the window, odd
windows only) and DLT layer normalisation (over H, W and C of an image, with a per-channel
Scale and Offset; over C of features)."""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import (
    DLT,
    FEATURES,
    IMAGE,
    LAYOUTS,
    MatLayer,
    dagnn_block,
    normal,
    row,
)
from harness.sources.mat.registration import register


def _channel_shape(size) -> tuple[int, ...]:
    """DLT per-channel learnables: 1×1×C for images, C×1 for features and sequences."""
    return (1, 1, size.channels) if size.layout == IMAGE else (size.channels, 1)


def _channel_axis(size) -> int:
    return 2 if size.layout == IMAGE else 0


def _bnorm_weights(attrs, size, rng):
    channels = size.channels
    return {"gain": normal(rng, channels), "bias": normal(rng, channels),
            "mean": normal(rng, channels),
            "var": (0.5 + rng.random(channels)).astype(np.float32)}


def _sigma(attrs, w) -> np.ndarray:
    return np.sqrt(w["var"].astype(np.float64) + attrs["eps"])


def _bnorm_simplenn(attrs, w, size):
    moments = np.stack([w["mean"], _sigma(attrs, w).astype(np.float32)], axis=1)  # C×2
    return "bnorm", {"epsilon": row([attrs["eps"]])}, \
        [w["gain"].reshape(-1, 1), w["bias"].reshape(-1, 1), moments]


def _bnorm_dlt(attrs, w, size):
    shape = _channel_shape(size)
    return "BatchNormalizationLayer", {
        "NumChannels": row([size.channels]), "TrainedMean": w["mean"].reshape(shape),
        "TrainedVariance": w["var"].reshape(shape), "Scale": w["gain"].reshape(shape),
        "Offset": w["bias"].reshape(shape), "Epsilon": row([attrs["eps"]])}


register(MatLayer(
    name="bnorm", family="normalization", takes=LAYOUTS, domains={"eps": [1e-5, 1e-3]},
    draw=lambda pick, size, fmt: {"eps": pick("eps")}, weights=_bnorm_weights,
    reference=lambda x, attrs, w, size: ref.batchnorm(
        x, w["gain"], w["bias"], w["mean"], _sigma(attrs, w), _channel_axis(size)),
    simplenn=_bnorm_simplenn, dagnn=dagnn_block("dagnn.BatchNorm", _bnorm_simplenn),
    dlt=_bnorm_dlt,
    doc="batch normalisation with trained statistics"))


LRN_DOMAINS = {"size": [1, 2, 3, 4, 5], "kappa": [1.0, 2.0], "alpha": [1e-4, 0.05],
               "beta": [0.75]}


def _draw_lrn(pick, size, fmt):
    window = pick("size", [s for s in LRN_DOMAINS["size"] if fmt != DLT or s % 2])
    return {"size": window, "kappa": pick("kappa"), "alpha": pick("alpha"),
            "beta": pick("beta")}


def _lrn_simplenn(attrs, w, size):
    return "lrn", {"param": row([attrs["size"], attrs["kappa"], attrs["alpha"],
                                 attrs["beta"]])}, []


def _lrn_dlt(attrs, w, size):  # MATLAB divides Alpha by the window size; MatConvNet does not
    return "CrossChannelNormalizationLayer", {
        "WindowChannelSize": row([attrs["size"]]), "Alpha": row([attrs["alpha"] * attrs["size"]]),
        "Beta": row([attrs["beta"]]), "K": row([attrs["kappa"]])}


register(MatLayer(
    name="lrn", family="normalization", takes=(IMAGE,), domains=LRN_DOMAINS, draw=_draw_lrn,
    reference=lambda x, attrs, w, size: ref.lrn(x, attrs["size"], attrs["kappa"],
                                                attrs["alpha"], attrs["beta"]),
    simplenn=_lrn_simplenn, dagnn=dagnn_block("dagnn.LRN", _lrn_simplenn), dlt=_lrn_dlt,
    doc="local response (cross-channel) normalisation"))


def _layernorm_weights(attrs, size, rng):  # per-channel Scale well away from 1 and each other
    return {"scale": (1.0 + normal(rng, size.channels, scale=1.0)).astype(np.float32),
            "offset": normal(rng, size.channels)}


register(MatLayer(
    name="layernorm", family="normalization", takes=(IMAGE, FEATURES),
    domains={"eps": [1e-5, 1e-3]}, draw=lambda pick, size, fmt: {"eps": pick("eps")},
    weights=_layernorm_weights,
    reference=lambda x, attrs, w, size: ref.layernorm(x, w["scale"], w["offset"],
                                                      attrs["eps"]),
    dlt=lambda attrs, w, size: ("LayerNormalizationLayer", {
        "NumChannels": row([size.channels]),
        "Scale": w["scale"].reshape(_channel_shape(size)),
        "Offset": w["offset"].reshape(_channel_shape(size)), "Epsilon": row([attrs["eps"]])}),
    doc="DLT layer normalisation (GroupNorm(1, C) on images)"))
