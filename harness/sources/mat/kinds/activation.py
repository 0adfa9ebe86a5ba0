"""Activations: ReLU (leaky), sigmoid and softmax in every format; DLT's tanh, ELU, clipped
ReLU, swish and GELU."""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import IMAGE, LAYOUTS, MatLayer, dagnn_block, row
from harness.sources.mat.registration import register


def _nothing(pick, size, fmt):
    return {}


def _elementwise(name, fn, dlt_class, *, simplenn=None, dagnn=None, domains=None,
                 draw=_nothing, doc=""):
    """A kind that maps every element alone, the same in every layout."""
    register(MatLayer(
        name=name, family="activation", takes=LAYOUTS, domains=domains or {}, draw=draw,
        reference=lambda x, attrs, w, size: fn(x, attrs),
        simplenn=simplenn, dagnn=dagnn,
        dlt=dlt_class if callable(dlt_class) else (lambda attrs, w, size: (dlt_class, {})),
        doc=doc))


def _relu_simplenn(attrs, w, size):
    return "relu", {"leak": row([attrs["leak"]])}, []


def _relu_dlt(attrs, w, size):
    if attrs["leak"] == 0:
        return "ReLULayer", {}
    return "LeakyReLULayer", {"Scale": row([attrs["leak"]])}


_elementwise("relu", lambda x, a: ref.relu(x, a["leak"]), _relu_dlt,
             simplenn=_relu_simplenn, dagnn=dagnn_block("dagnn.ReLU", _relu_simplenn),
             domains={"leak": [0.0, 0.1]}, draw=lambda pick, size, fmt: {"leak": pick("leak")},
             doc="ReLU; a non-zero leak is MatConvNet's leak, DLT's LeakyReLULayer Scale")


def _sigmoid_simplenn(attrs, w, size):
    return "sigmoid", {}, []


_elementwise("sigmoid", lambda x, a: ref.sigmoid(x), "SigmoidLayer",
             simplenn=_sigmoid_simplenn, dagnn=dagnn_block("dagnn.Sigmoid", _sigmoid_simplenn),
             doc="logistic sigmoid")
_elementwise("tanh", lambda x, a: np.tanh(x), "TanhLayer", doc="DLT tanhLayer")
_elementwise("elu", lambda x, a: ref.elu(x, a["alpha"]),
             lambda attrs, w, size: ("ELULayer", {"Alpha": row([attrs["alpha"]])}),
             domains={"alpha": [1.0, 0.3, 2.0]},
             draw=lambda pick, size, fmt: {"alpha": pick("alpha")}, doc="DLT eluLayer(Alpha)")
_elementwise("clippedrelu", lambda x, a: ref.clipped_relu(x, a["ceiling"]),
             lambda attrs, w, size: ("ClippedReLULayer", {"Ceiling": row([attrs["ceiling"]])}),
             domains={"ceiling": [0.5, 1.0, 6.0]},
             draw=lambda pick, size, fmt: {"ceiling": pick("ceiling")},
             doc="DLT clippedReluLayer(Ceiling)")
_elementwise("swish", lambda x, a: ref.swish(x), "SwishLayer", doc="DLT swishLayer")


def _gelu_dlt(attrs, w, size):
    # Approximation left out is MATLAB's default, 'none' (the erf form).
    approximation = attrs["approximation"]
    return "GELULayer", ({} if approximation is None else {"Approximation": approximation})


_elementwise("gelu", lambda x, a: ref.gelu(x, a["approximation"] or "none"), _gelu_dlt,
             domains={"approximation": [None, "none", "tanh"]},
             draw=lambda pick, size, fmt: {"approximation": pick("approximation")},
             doc="DLT geluLayer: erf (default) or the tanh approximation")


def _softmax_simplenn(attrs, w, size):
    return "softmax", {}, []


register(MatLayer(
    name="softmax", family="activation", takes=LAYOUTS, domains={}, draw=_nothing,
    reference=lambda x, attrs, w, size: ref.softmax_channels(
        x, axis=2 if size.layout == IMAGE else 0),
    simplenn=_softmax_simplenn, dagnn=dagnn_block("dagnn.SoftMax", _softmax_simplenn),
    dlt=lambda attrs, w, size: ("SoftmaxLayer", {}),
    doc="softmax over the channels"))
