"""Recurrent: LSTM, GRU and RNN, weights (W, R, B, P) as initializers the way exporters
write them, initial states as graph inputs or left out, sequence_lens left out."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import OPERANDS, OPSET, OUTPUTS
from harness.sources.onnx.op import opset_and_dtype
from harness.sources.onnx.ops.conv import kind, written

FAMILY = "recurrent"

DIRECTIONS = ["forward", "reverse", "bidirectional"]
# The activations onnxruntime's CPU recurrent kernels implement, plain ones first; those
# taking alpha (and beta) consume activation_alpha (activation_beta) in order.
ACTIVATIONS = ["Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "ThresholdedRelu",
               "ScaledTanh", "Affine", "Elu", "Softsign", "Softplus"]
TAKES_ALPHA = {"HardSigmoid": 0.2, "LeakyRelu": 0.01, "ThresholdedRelu": 1.0,
               "ScaledTanh": 1.0, "Affine": 1.0, "Elu": 1.0}
TAKES_BETA = {"HardSigmoid": 0.5, "ScaledTanh": 1.0, "Affine": 0.0}

# per op: gates, default activations per direction, optional outputs
CELLS = {"LSTM": (4, ["Sigmoid", "Tanh", "Tanh"], 3), "GRU": (3, ["Sigmoid", "Tanh"], 2),
         "RNN": (1, ["Tanh"], 2)}

RECURRENT_DOMAINS = {
    "direction": DIRECTIONS,
    # onnxruntime: "Batchwise recurrent operations (layout == 1) are not supported"
    "layout": [0],
    "hidden_size": [1, 2, 3, 4],
    "activations": ACTIVATIONS,
    "activation_alpha": [0.5, 0.1, 2.0],
    "activation_beta": [0.5, -0.5, 1.5],
    "clip": [3.0, 0.5],
    "operand_form": ["no_bias", "bias"],
    "form": ["no_initial_state", "initial_state"],
    "outputs": [1, 2, 3],
}


RECURRENT_DTYPES = ("float32", "float16")


def _draw_recurrent(op_type: str):
    gates, default_activations, most_outputs = CELLS[op_type]

    def draw(pick: Picker):
        opset, dtype = opset_and_dtype(pick, op_type, RECURRENT_DTYPES)
        direction = pick("direction")
        directions = 2 if direction == "bidirectional" else 1
        layout = pick("layout")
        hidden = pick("hidden_size")
        steps, batch, features = (pick.draw(st.integers(1, 4)), pick.draw(st.integers(1, 2)),
                                  pick.draw(st.integers(1, 4)))
        attrs: dict[str, Any] = {OPSET: opset, "hidden_size": hidden}
        if direction != "forward" or written(pick):
            attrs["direction"] = direction
        if opset >= 14 and (layout or written(pick)):
            attrs["layout"] = layout
        activation_form = pick.draw(st.sampled_from(["default", "written", "drawn"]))
        if activation_form == "written":
            attrs["activations"] = default_activations * directions
        elif activation_form == "drawn":
            names = [pick("activations")
                     for _ in range(len(default_activations) * directions)]
            attrs["activations"] = names
            alphas = [pick("activation_alpha") for n in names if n in TAKES_ALPHA]
            betas = [pick("activation_beta") for n in names if n in TAKES_BETA]
            if alphas:
                attrs["activation_alpha"] = alphas
            if betas:
                attrs["activation_beta"] = betas
        if pick.draw(st.booleans()):  # the cell inputs clipped
            attrs["clip"] = pick("clip")
        if op_type == "LSTM":
            input_forget = pick("input_forget")
            if input_forget or written(pick):
                attrs["input_forget"] = input_forget
        if op_type == "GRU":
            linear_before_reset = pick("linear_before_reset")
            if linear_before_reset or written(pick):
                attrs["linear_before_reset"] = linear_before_reset
        x = (batch, steps, features) if layout else (steps, batch, features)
        state = (batch, directions, hidden) if layout else (directions, batch, hidden)
        operands: list[Any] = [
            "in", {"weight": [directions, gates * hidden, features], "role": "kernel"},
            {"weight": [directions, gates * hidden, hidden], "role": "kernel"}]
        optional: list[Any] = []
        if pick("operand_form") == "bias":
            optional.append({"weight": [directions, 2 * gates * hidden], "role": "bias"})
        else:
            optional.append(None)
        optional.append(None)  # sequence_lens: every sequence full length
        shapes = [x]
        if pick("form") == "initial_state":
            optional.append("in")
            shapes.append(state)
            if op_type == "LSTM":
                optional.append("in")
                shapes.append(state)
        if op_type == "LSTM" and pick.draw(st.booleans()):  # peepholes
            optional += [None] * (4 - len(optional))
            optional.append({"weight": [directions, 3 * hidden], "role": "bias"})
        while optional and optional[-1] is None:
            optional.pop()
        attrs[OPERANDS] = operands + optional
        attrs[OUTPUTS] = pick("outputs", among=list(range(1, most_outputs + 1)))
        return attrs, shapes, dtype

    return draw


kind("LSTM", FAMILY, _draw_recurrent("LSTM"), {**RECURRENT_DOMAINS, "input_forget": [0, 1]},
     dtypes=RECURRENT_DTYPES)
kind("GRU", FAMILY, _draw_recurrent("GRU"),
     {**RECURRENT_DOMAINS, "linear_before_reset": [0, 1]}, dtypes=RECURRENT_DTYPES)
kind("RNN", FAMILY, _draw_recurrent("RNN"), RECURRENT_DOMAINS, dtypes=RECURRENT_DTYPES)
