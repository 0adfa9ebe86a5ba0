"""More normalization: GroupNormalization, UnitNormalization."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.layers._base import BATCH, BOOLS_TRUE_FIRST, draw_spatial
from harness.layers.normalization import EPSILONS
from harness.registry import LayerKind, Picker, register

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
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))
    axis = pick("axis", [a for a in UNIT_NORM_DOMAINS["axis"] if not (a == -2 and rank < 3)])
    if axis == "all-but-batch":
        axis = list(range(1, rank))
    return {"axis": axis}, [shape]


register(
    LayerKind(
        name="UnitNormalization",
        family="normalization",
        domains=UNIT_NORM_DOMAINS,
        draw=_draw_unit_norm,
    )
)
