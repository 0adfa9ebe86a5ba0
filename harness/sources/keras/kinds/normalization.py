"""Normalization: BatchNormalization (inference, with drawn moving statistics),
LayerNormalization, GroupNormalization, UnitNormalization, RMSNormalization."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_FALSE_FIRST,
    BOOLS_TRUE_FIRST,
    draw_spatial,
)

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


def _pick_axis(pick: Picker, shape: tuple[int, ...]):
    """An axis of the kind's domain that ``shape`` has; "all-but-batch" as the list of them."""
    axis = pick("axis", [a for a in pick.domain("axis") if not (a == -2 and len(shape) < 3)])
    return list(range(1, len(shape))) if axis == "all-but-batch" else axis


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
    axis = _pick_axis(pick, shape)
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

GROUP_NORM_DOMAINS = {
    "groups": [1, 2, -1, 3],
    "axis": [-1, 1],
    "epsilon": EPSILONS,
    "center": BOOLS_TRUE_FIRST,
    "scale": BOOLS_TRUE_FIRST,
    "rank": [3, 4, 2],
    "batch": BATCH,
}


def _draw_group_norm(pick: Picker):
    rank = pick("rank")
    groups = pick("groups")
    axis = pick("axis")
    # The grouped axis holds a whole number of channels per group; -1 is one per channel.
    channels = (1 if groups == -1 else groups) * (1 + pick.draw(st.integers(0, 2)))
    if groups == -1:
        channels = 1 + pick.draw(st.integers(0, 3))
    shape = [pick("batch"), *draw_spatial(pick, [1] * (rank - 1), slack=3)]
    shape[axis] = channels
    attrs = {
        "groups": groups,
        "axis": axis,
        "epsilon": pick("epsilon"),
        "center": pick("center"),
        "scale": pick("scale"),
    }
    return attrs, [tuple(shape)]


register(
    LayerKind(
        name="GroupNormalization",
        family="normalization",
        domains=GROUP_NORM_DOMAINS,
        draw=_draw_group_norm,
    )
)

UNIT_NORM_DOMAINS = {"axis": [-1, 1, "all-but-batch", -2], "rank": [2, 3, 4], "batch": BATCH}


def _draw_unit_norm(pick: Picker):
    shape = _input_shape(pick)
    axis = _pick_axis(pick, shape)
    return {"axis": axis}, [shape]


register(
    LayerKind(
        name="UnitNormalization",
        family="normalization",
        domains=UNIT_NORM_DOMAINS,
        draw=_draw_unit_norm,
    )
)

RMS_NORM_DOMAINS = {
    # Keras 3.15 multiplies the scale into the trailing axes, so it cannot run over others:
    # axis 1 of (2, 3, 2, 2) raises "Incompatible shapes: [2,3,2,2] vs. [3]" in Keras itself
    "axis": [-1, "all-but-batch"],
    "epsilon": [1e-6, *EPSILONS],  # Keras' default first
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _draw_rms_norm(pick: Picker):
    shape = _input_shape(pick)
    return {"axis": _pick_axis(pick, shape), "epsilon": pick("epsilon")}, [shape]


register(
    LayerKind(
        name="RMSNormalization",
        family="normalization",
        domains=RMS_NORM_DOMAINS,
        draw=_draw_rms_norm,
    )
)
