"""Recurrent layers (DLT, on sequences C×N×T): LSTM and BiLSTM (gates [i f g o], one bias,
initial HiddenState/CellState) and GRU (gates [r z h]) in all three ResetGateModes. With
OutputMode 'last' the output is the last time step's features."""

from __future__ import annotations

import numpy as np

from harness.sources.mat import reference as ref
from harness.sources.mat.layer import SEQUENCE, MatLayer, Size, normal, row
from harness.sources.mat.registration import register

GATES = {"lstm": 4, "bilstm": 4, "gru": 3}
DIRECTIONS = {"lstm": 1, "bilstm": 2, "gru": 1}
CLASSES = {"lstm": "LSTMLayer", "bilstm": "BiLSTMLayer", "gru": "GRULayer"}
RESET_GATE_MODES = ["after-multiplication", "before-multiplication",
                    "recurrent-bias-after-multiplication"]


def _recurrent(name: str) -> MatLayer:
    gates, directions = GATES[name], DIRECTIONS[name]
    domains = {"hidden": [1, 2, 3, 4], "output_mode": ["sequence", "last"],
               "initial_state": [False, True]}
    if name == "gru":
        domains["reset_gate_mode"] = RESET_GATE_MODES

    def draw(pick, size, fmt):
        attrs = {"hidden": pick("hidden"), "output_mode": pick("output_mode"),
                 "initial_state": pick("initial_state")}
        if name == "gru":
            attrs["reset_gate_mode"] = pick("reset_gate_mode")
        return attrs

    def weights(attrs, size, rng):
        h, rows = attrs["hidden"], directions * gates * attrs["hidden"]
        bias_rows = 6 * h if attrs.get("reset_gate_mode") == RESET_GATE_MODES[2] else rows
        w = {"wi": normal(rng, rows, size.channels), "wr": normal(rng, rows, h),
             "bias": normal(rng, bias_rows, 1)}
        for state in ("h0", "c0"):
            w[state] = normal(rng, directions * h, 1) if attrs["initial_state"] \
                else np.zeros((directions * h, 1), np.float32)
        return w

    def reference(x, attrs, w, size):
        h = attrs["hidden"]
        if name == "gru":
            y = ref.gru(x, w["wi"], w["wr"], w["bias"], w["h0"], attrs["reset_gate_mode"])
        else:
            rows = gates * h
            y = np.concatenate([
                ref.lstm(x, w["wi"][k * rows:(k + 1) * rows], w["wr"][k * rows:(k + 1) * rows],
                         w["bias"][k * rows:(k + 1) * rows], w["h0"][k * h:(k + 1) * h],
                         w["c0"][k * h:(k + 1) * h], reverse=k == 1)
                for k in range(directions)], axis=0)
        return y[:, :, -1] if attrs["output_mode"] == "last" else y

    def output(attrs, size):
        channels = directions * attrs["hidden"]
        return Size.features(channels) if attrs["output_mode"] == "last" \
            else Size.sequence(channels, size.steps)

    def dlt(attrs, w, size):
        props = {"InputSize": row([size.channels]), "NumHiddenUnits": row([attrs["hidden"]]),
                 "OutputMode": attrs["output_mode"], "StateActivationFunction": "tanh",
                 "GateActivationFunction": "sigmoid", "InputWeights": w["wi"],
                 "RecurrentWeights": w["wr"], "Bias": w["bias"], "HiddenState": w["h0"]}
        if name == "gru":
            props["ResetGateMode"] = attrs["reset_gate_mode"]
        else:
            props["CellState"] = w["c0"]
        return CLASSES[name], props

    return MatLayer(name=name, family="recurrent", takes=(SEQUENCE,), domains=domains,
                    draw=draw, weights=weights, reference=reference, output=output, dlt=dlt,
                    doc=f"DLT {CLASSES[name]}")


for _name in ("lstm", "bilstm", "gru"):
    register(_recurrent(_name))
