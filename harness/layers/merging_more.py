"""More merging: Multiply, Subtract, Average, Maximum, Minimum, Dot."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.layers._base import BATCH, BOOLS_FALSE_FIRST
from harness.layers.merging import ADD_DOMAINS, _draw_add
from harness.registry import LayerKind, Picker, register

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
