"""Free dimensions: which a kind admits, how a source declares them, and the further sizes
every leg runs at.

A case with ``free_dims=("batch",)`` is built with its batch dimension free (``None``), and
its legs run at ``input_shapes`` and at each of ``more_shapes``: a converter that bakes a
size in fails at the size that broke it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness import registry
from harness.registry import LayerKind
from harness.spec import LayerSpec

BATCH = "batch"
MAX_BATCH = 4


def admitted(kind: LayerKind) -> tuple[str, ...]:
    if kind.source != registry.KERAS or kind.tags & registry.WHOLE_MODELS:
        return ()
    return (BATCH,)


def free_axes(spec: LayerSpec, name: str) -> list[tuple[int, ...]]:
    """Per input, the dimensions that ``name`` frees in ``spec``."""
    if name == BATCH:
        return [(0,) for _ in spec.input_shapes]
    raise ValueError(f"{spec.kind}: unknown free dimension {name!r}")


def declared_shape(spec: LayerSpec, index: int) -> tuple[int | None, ...]:
    """Input ``index``'s shape as the source model declares it: free dimensions are None."""
    shape: list[int | None] = list(spec.input_shapes[index])
    for name in spec.free_dims:
        for axis in free_axes(spec, name)[index]:
            shape[axis] = None
    return tuple(shape)


@st.composite
def draw_free(draw, kind: LayerKind, attrs: dict[str, Any],
              shapes: list[tuple[int, ...]]) -> tuple[tuple[str, ...], tuple]:
    """(free_dims, more_shapes) for a case of ``kind``: at least one admitted dimension
    free, and one further size at which every leg runs too (batch 1 and more)."""
    names = admitted(kind)
    if not names:
        return (), ()
    free = (BATCH,)
    batch = shapes[0][0]
    other = draw(st.sampled_from([b for b in range(1, MAX_BATCH + 1) if b != batch]))
    more = (tuple((other, *s[1:]) for s in shapes),)
    return free, more
