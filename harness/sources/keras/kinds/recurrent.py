"""Recurrent layers: SimpleRNN, LSTM, GRU, and Bidirectional around each.

Sequences stay short (at most 6 steps) and units few, to keep the CI budget. ``stateful`` is
left out: it needs a fixed batch size in the model's input signature, and states that
persist between calls, which a one-call parity case cannot observe.
"""

from __future__ import annotations

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_FALSE_FIRST,
    BOOLS_TRUE_FIRST,
    draw_spatial,
    resolve_activation,
)

RNN_ACTIVATIONS = ["tanh", "linear", "relu", "sigmoid", "hard_sigmoid", "elu", "softsign"]
RECURRENT_ACTIVATIONS = ["sigmoid", "hard_sigmoid", "tanh", "linear", "relu"]

RNN_DOMAINS = {
    "units": [1, 2, 3, 4],
    "activation": RNN_ACTIVATIONS,
    "use_bias": BOOLS_TRUE_FIRST,
    "return_sequences": BOOLS_FALSE_FIRST,
    "return_state": BOOLS_FALSE_FIRST,
    "go_backwards": BOOLS_FALSE_FIRST,
    "unroll": BOOLS_FALSE_FIRST,
    "channels": [1, 2, 3],
    "batch": BATCH,
}
LSTM_DOMAINS = {**RNN_DOMAINS, "recurrent_activation": RECURRENT_ACTIVATIONS}
GRU_DOMAINS = {**LSTM_DOMAINS, "reset_after": BOOLS_TRUE_FIRST}
CELL_DOMAINS = {"SimpleRNN": RNN_DOMAINS, "LSTM": LSTM_DOMAINS, "GRU": GRU_DOMAINS}


def _draw_cell_attrs(pick: Picker, kind: str, backwards: bool = True) -> dict:
    attrs = {
        "units": pick("units"),
        "activation": pick("activation"),
        "use_bias": pick("use_bias"),
    }
    if kind != "SimpleRNN":
        attrs["recurrent_activation"] = pick("recurrent_activation")
    if kind == "GRU":
        attrs["reset_after"] = pick("reset_after")
    attrs.update(
        return_sequences=pick("return_sequences"),
        return_state=pick("return_state"),
        # Bidirectional needs its forward layer to run forwards: it builds the backward copy.
        go_backwards=pick("go_backwards") if backwards else False,
        unroll=pick("unroll"),
    )
    return attrs


def _sequence(pick: Picker) -> tuple[int, int, int]:
    steps = draw_spatial(pick, [1], slack=5)[0]
    return (pick("batch"), steps, pick("channels"))


def _draw_rnn(kind: str):
    def draw(pick: Picker):
        attrs = _draw_cell_attrs(pick, kind)
        return attrs, [_sequence(pick)]

    return draw


for _kind, _domains in CELL_DOMAINS.items():
    register(LayerKind(name=_kind, family="recurrent", domains=_domains, draw=_draw_rnn(_kind)))

BIDIRECTIONAL_DOMAINS = {
    "layer": ["LSTM", "GRU", "SimpleRNN"],
    "merge_mode": ["concat", "sum", "mul", "ave", None],
    **GRU_DOMAINS,
}


def _draw_bidirectional(pick: Picker):
    inner = pick("layer")
    attrs = {"layer": inner, "merge_mode": pick("merge_mode"), **_draw_cell_attrs(pick, inner, False)}
    return attrs, [_sequence(pick)]


def _build_bidirectional(attrs: dict):
    import keras

    inner = attrs.pop("layer")
    merge_mode = attrs.pop("merge_mode")
    layer = getattr(keras.layers, inner)(**resolve_activation(attrs))
    return keras.layers.Bidirectional(layer, merge_mode=merge_mode, name="bidirectional")


register(
    LayerKind(
        name="Bidirectional",
        family="recurrent",
        domains=BIDIRECTIONAL_DOMAINS,
        draw=_draw_bidirectional,
        build=_build_bidirectional,
        doc="Bidirectional(layer(**attrs), merge_mode): attrs other than layer and merge_mode "
        "are the wrapped layer's.",
    )
)
