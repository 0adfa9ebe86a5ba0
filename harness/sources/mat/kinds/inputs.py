"""The input layer: a DLT ImageInputLayer, FeatureInputLayer or SequenceInputLayer and its
Normalization ('zerocenter' subtracts Mean, 'zscore' also divides by StandardDeviation).
Image statistics are stored per pixel (H×W×C) or per channel (1×1×C); feature statistics
C×1 or 1×C. A MatConvNet network has no input layer; its input size is ``meta.inputSize``.
"""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import FEATURES, IMAGE, INPUT, LAYOUTS, MatLayer, row
from harness.sources.mat.registration import register


def _draw(pick, size, fmt):
    attrs = {"normalization": pick("normalization")}
    if size.layout == IMAGE:
        attrs["per"] = pick("per")
    elif size.layout == FEATURES:
        attrs["stats_row"] = pick("stats_row")
    return attrs


def _statistics(attrs, size, rng):
    if attrs.get("normalization", "none") == "none":
        return {}
    if size.layout == IMAGE:
        shape = (size.height, size.width, size.channels) if attrs["per"] == "pixel" \
            else (1, 1, size.channels)
    else:
        shape = (1, size.channels) if attrs.get("stats_row") else (size.channels, 1)
    return {"mean": rng.standard_normal(shape).astype(np.float32),
            "std": (0.5 + 1.5 * rng.random(shape)).astype(np.float32)}


def _reference(x, attrs, w, size):
    mode = attrs.get("normalization", "none")
    if mode == "none":
        return x
    return ref.input_normalization(x, mode, w["mean"], w["std"])


CLASSES = {IMAGE: "ImageInputLayer", FEATURES: "FeatureInputLayer",
           "sequence": "SequenceInputLayer"}


def _dlt(attrs, w, size):
    mode = attrs.get("normalization", "none")
    props = {"InputSize": row(size.matlab), "Normalization": mode}
    if mode != "none":
        props["Mean"] = w["mean"]
    if mode == "zscore":
        props["StandardDeviation"] = w["std"]
    return CLASSES[size.layout], props


register(MatLayer(
    name=INPUT, family="input", takes=LAYOUTS, chains=False,
    domains={"normalization": ["zerocenter", "zscore"], "per": ["channel", "pixel"],
             "stats_row": [False, True]},
    draw=_draw, weights=_statistics, reference=_reference, dlt=_dlt,
    doc="DLT input layer Normalization: zerocenter or zscore, statistics per channel or "
        "per pixel (images), as a column or a row (features)"))
