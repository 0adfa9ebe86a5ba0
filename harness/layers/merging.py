"""Merging: Add, Concatenate (several inputs)."""

from __future__ import annotations

from harness.layers._base import BATCH, draw_spatial
from harness.registry import LayerKind, Picker, register

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
