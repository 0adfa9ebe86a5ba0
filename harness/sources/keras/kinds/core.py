"""Core layers: Dense, Activation, Dropout (at inference)."""

from __future__ import annotations

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    ACTIVATIONS,
    BATCH,
    BOOLS_TRUE_FIRST,
    FUSED_ACTIVATIONS,
    draw_spatial,
)

DENSE_DOMAINS = {
    "units": [1, 2, 3, 4, 8],
    "use_bias": BOOLS_TRUE_FIRST,
    "activation": FUSED_ACTIVATIONS,
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _draw_dense(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1), slack=6))
    attrs = {"units": pick("units"), "use_bias": pick("use_bias"), "activation": pick("activation")}
    return attrs, [shape]


register(LayerKind(name="Dense", family="core", domains=DENSE_DOMAINS, draw=_draw_dense))

ACTIVATION_DOMAINS = {"activation": ACTIVATIONS, "rank": [2, 3, 4], "batch": BATCH}


def _draw_activation(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1), slack=6))
    return {"activation": pick("activation")}, [shape]


register(
    LayerKind(name="Activation", family="core", domains=ACTIVATION_DOMAINS, draw=_draw_activation)
)

DROPOUT_DOMAINS = {"rate": [0.5, 0.0, 0.9], "rank": [2, 3, 4], "batch": BATCH}


def _draw_dropout(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))
    return {"rate": pick("rate"), "seed": 0}, [shape]


register(LayerKind(name="Dropout", family="core", domains=DROPOUT_DOMAINS, draw=_draw_dropout))
