"""Normalization: BatchNormalization (inference, with drawn moving statistics), LayerNormalization."""

from __future__ import annotations

from harness.layers._base import BATCH, BOOLS_FALSE_FIRST, BOOLS_TRUE_FIRST, draw_spatial
from harness.registry import LayerKind, Picker, register

EPSILONS = [1e-3, 1e-5, 1e-2, 0.5]
NORM_DOMAINS = {
    "rank": [2, 3, 4],
    "axis": [-1, 1, 2, 3],
    "epsilon": EPSILONS,
    "center": BOOLS_TRUE_FIRST,
    "scale": BOOLS_TRUE_FIRST,
    "batch": BATCH,
}


def _input_shape(pick: Picker) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))


def _draw_batch_norm(pick: Picker):
    shape = _input_shape(pick)
    axis = pick("axis", [a for a in NORM_DOMAINS["axis"] if a < len(shape)])
    attrs = {
        "axis": axis,
        "epsilon": pick("epsilon"),
        "center": pick("center"),
        "scale": pick("scale"),
    }
    return attrs, [shape]


register(
    LayerKind(
        name="BatchNormalization",
        family="normalization",
        domains=NORM_DOMAINS,
        draw=_draw_batch_norm,
    )
)

LAYER_NORM_DOMAINS = {
    **NORM_DOMAINS,
    "axis": [-1, "all-but-batch", -2, 1],
    "rms_scaling": BOOLS_FALSE_FIRST,
}


def _draw_layer_norm(pick: Picker):
    shape = _input_shape(pick)
    axis = pick("axis", [a for a in LAYER_NORM_DOMAINS["axis"] if not (a == -2 and len(shape) < 3)])
    if axis == "all-but-batch":
        axis = list(range(1, len(shape)))
    rms_scaling = pick("rms_scaling")
    attrs = {
        "axis": axis,
        "epsilon": pick("epsilon"),
        # Keras ignores center when rms_scaling is on; drawing it would only add noise.
        "center": False if rms_scaling else pick("center"),
        "scale": pick("scale"),
        "rms_scaling": rms_scaling,
    }
    return attrs, [shape]


register(
    LayerKind(
        name="LayerNormalization",
        family="normalization",
        domains=LAYER_NORM_DOMAINS,
        draw=_draw_layer_norm,
    )
)

