"""Fully connected (DLT; after an image it reads the column-major flatten), flatten (DLT)
and dropout (identity at inference, every format)."""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import (
    IMAGE,
    LAYOUTS,
    SEQUENCE,
    MatLayer,
    Size,
    dagnn_block,
    normal,
    row,
)
from harness.sources.mat.registration import register


def _fc_weights(attrs, size, rng):
    inputs = size.elements if size.layout == IMAGE else size.channels
    return {"w": normal(rng, attrs["outputs"], inputs), "b": normal(rng, attrs["outputs"])}


def _fc_reference(x, attrs, w, size):
    if size.layout == SEQUENCE:  # C×N×T: the same weights at every time step
        return np.einsum("oc,cnt->ont", w["w"], x) + w["b"].reshape(-1, 1, 1)
    return ref.fully_connected(ref.flatten(x) if size.layout == IMAGE else x, w["w"], w["b"])


def _fc_output(attrs, size):
    if size.layout == SEQUENCE:
        return Size.sequence(attrs["outputs"], size.steps)
    return Size.features(attrs["outputs"])


register(MatLayer(
    name="fc", family="core", takes=LAYOUTS, domains={"outputs": [1, 2, 3, 4, 5]},
    draw=lambda pick, size, fmt: {"outputs": pick("outputs")},
    weights=_fc_weights, reference=_fc_reference, output=_fc_output,
    dlt=lambda attrs, w, size: ("FullyConnectedLayer", {
        "OutputSize": row([attrs["outputs"]]), "InputSize": row([w["w"].shape[1]]),
        "Weights": w["w"], "Bias": w["b"].reshape(-1, 1)}),
    doc="DLT fullyConnectedLayer; O×(H·W·C) weights read a column-major flatten"))

register(MatLayer(
    name="flatten", family="core", takes=(IMAGE,), domains={},
    draw=lambda pick, size, fmt: {},
    reference=lambda x, attrs, w, size: ref.flatten(x),
    output=lambda attrs, size: Size.features(size.elements),
    dlt=lambda attrs, w, size: ("FlattenLayer", {}),
    doc="DLT flattenLayer: H×W×C → H·W·C features, column-major"))


def _dropout_simplenn(attrs, w, size):
    return "dropout", {"rate": row([attrs["rate"]])}, []


register(MatLayer(
    name="dropout", family="core", takes=LAYOUTS, domains={"rate": [0.5, 0.2]},
    draw=lambda pick, size, fmt: {"rate": pick("rate")},
    reference=lambda x, attrs, w, size: x,
    simplenn=_dropout_simplenn, dagnn=dagnn_block("dagnn.DropOut", _dropout_simplenn),
    dlt=lambda attrs, w, size: ("DropoutLayer", {"Probability": row([attrs["rate"]])}),
    doc="dropout: the identity at inference"))
