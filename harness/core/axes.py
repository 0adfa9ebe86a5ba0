"""The axes a case is drawn along besides its attributes: its dtype and its free dimensions.

A kind admits some of them (``admitted``): a Keras layer can be built in float16 or float64
or under the ``mixed_float16`` policy, and declared with a free batch (every layer), free
spatial dimensions (a fully convolutional layer) or a free time axis (a recurrent layer).
``harness.core.dtypes`` and ``harness.core.free_dims`` say which, kind by kind, from what each
source registers (``harness.core.admission``); the suites draw one case per admitted axis
(``suites/layers``) and ``parity layers`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core import dtypes, free_dims
from harness.core.registry import LayerKind

PLAIN = "float32"
FREE = "free"  # a free batch; "free-spatial" and "free-time" free those dimensions too
FREE_DIMS = ("batch", "spatial", "time")


def free_axis(dim: str) -> str:
    """The axis that frees ``dim`` (and the batch)."""
    return FREE if dim == "batch" else f"{FREE}-{dim}"


def freed_by(axis: str) -> str | None:
    """The dimension an axis frees besides the batch ("batch" for ``free``); None for a
    dtype axis."""
    if axis == FREE:
        return "batch"
    return axis.removeprefix(f"{FREE}-") if axis.startswith(f"{FREE}-") else None


@dataclass(frozen=True)
class Axes:
    dtypes: tuple[str, ...] = ()  # besides float32
    free_dims: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """One name per axis a suite draws along: each dtype, ``free`` (a free batch), and
        ``free-spatial`` / ``free-time`` where the kind admits those."""
        return (*self.dtypes, *(free_axis(dim) for dim in self.free_dims))

    def describe(self) -> str:
        parts = list(self.dtypes)
        if self.free_dims:
            parts.append("free " + "+".join(self.free_dims))
        return ", ".join(parts) or "-"


def admitted(kind: LayerKind) -> Axes:
    return Axes(dtypes.admitted(kind), free_dims.admitted(kind))
