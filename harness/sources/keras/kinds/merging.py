"""Merging (several inputs): Add, Concatenate, Multiply, Average, Maximum, Minimum,
Subtract, Dot."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import BATCH, BOOLS_FALSE_FIRST, draw_spatial

ADD_DOMAINS = {"inputs": [2, 3], "rank": [2, 3, 4], "batch": BATCH}


def _shape(pick: Picker) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))


def _draw_add(pick: Picker):
    shape = _shape(pick)
    return {}, [shape] * pick("inputs")


register(LayerKind(name="Add", family="merging", domains=ADD_DOMAINS, draw=_draw_add))

CONCAT_DOMAINS = {"inputs": [2, 3], "axis": [-1, 1, 2, 3], "rank": [2, 3, 4], "batch": BATCH}


def _draw_concatenate(pick: Picker):
    shape = _shape(pick)
    axis = pick("axis", [a for a in CONCAT_DOMAINS["axis"] if a < len(shape)])
    shapes = []
    for _ in range(pick("inputs")):
        sized = list(shape)
        sized[axis] = draw_spatial(pick, [1])[0]
        shapes.append(tuple(sized))
    return {"axis": axis}, shapes


register(
    LayerKind(name="Concatenate", family="merging", domains=CONCAT_DOMAINS, draw=_draw_concatenate)
)

for _name in ("Multiply", "Average", "Maximum", "Minimum"):
    register(LayerKind(name=_name, family="merging", domains=ADD_DOMAINS, draw=_draw_add))

register(
    LayerKind(
        name="Subtract",
        family="merging",
        domains={**ADD_DOMAINS, "inputs": [2]},
        draw=_draw_add,
    )
)

DOT_DOMAINS = {
    "axes": [1, -1, 2, [1, 2], [2, 1], [1, 1], [2, 2]],
    "normalize": BOOLS_FALSE_FIRST,
    "rank": [2, 3],
    "batch": BATCH,
}


def _size(pick: Picker) -> int:
    return 1 + pick.draw(st.integers(0, 3))


def _draw_dot(pick: Picker):
    rank = pick("rank")
    batch = pick("batch")
    if rank == 2:
        axes = pick("axes", [1, -1])
        n = _size(pick)
        return {"axes": axes, "normalize": pick("normalize")}, [(batch, n), (batch, n)]
    axes = pick("axes")
    pair = [axes, axes] if isinstance(axes, int) else axes
    pair = [a % 3 for a in pair]
    contracted = _size(pick)
    first = [_size(pick), _size(pick)]
    second = [_size(pick), _size(pick)]
    first[pair[0] - 1] = contracted
    second[pair[1] - 1] = contracted
    shapes = [(batch, *first), (batch, *second)]
    return {"axes": axes, "normalize": pick("normalize")}, shapes


register(LayerKind(name="Dot", family="merging", domains=DOT_DOMAINS, draw=_draw_dot))
