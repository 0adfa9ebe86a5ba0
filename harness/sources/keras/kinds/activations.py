"""Activation layers: PReLU, ReLU, Softmax, LeakyReLU, ELU."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import BATCH, draw_spatial

RANKS = [2, 3, 4]


def _shape(pick: Picker) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))


PRELU_DOMAINS = {"shared_axes": [None, [1], [1, 2], [2], [1, 2, 3]], "rank": RANKS, "batch": BATCH}


def _draw_prelu(pick: Picker):
    shape = _shape(pick)
    rank = len(shape)
    axes = pick(
        "shared_axes",
        [a for a in PRELU_DOMAINS["shared_axes"] if a is None or max(a) < rank],
    )
    return {"shared_axes": axes}, [shape]


register(
    LayerKind(name="PReLU", family="activations", domains=PRELU_DOMAINS, draw=_draw_prelu)
)

RELU_DOMAINS = {
    "max_value": [None, 6.0, 1.0, 0.5],
    "negative_slope": [0.0, 0.1, 0.5, 1.0],
    "threshold": [0.0, 0.5, 1.0, 2.0],
    "rank": RANKS,
    "batch": BATCH,
}


def _draw_relu(pick: Picker):
    shape = _shape(pick)
    max_value = pick("max_value")
    # Keras requires threshold >= 0, and threshold <= max_value when both are set.
    thresholds = [t for t in RELU_DOMAINS["threshold"] if max_value is None or t <= max_value]
    attrs = {
        "max_value": max_value,
        "negative_slope": pick("negative_slope"),
        "threshold": pick("threshold", thresholds),
    }
    return attrs, [shape]


register(LayerKind(name="ReLU", family="activations", domains=RELU_DOMAINS, draw=_draw_relu))

SOFTMAX_DOMAINS = {"axis": [-1, 1, -2, "pair"], "rank": RANKS, "batch": BATCH}


def _draw_softmax(pick: Picker):
    shape = _shape(pick)
    rank = len(shape)
    axis = pick("axis", [a for a in SOFTMAX_DOMAINS["axis"] if rank > 2 or a in (-1, 1)])
    if axis == "pair":
        first = pick.draw(st.integers(1, rank - 2))
        axis = [first, first + 1]
    return {"axis": axis}, [shape]


register(
    LayerKind(name="Softmax", family="activations", domains=SOFTMAX_DOMAINS, draw=_draw_softmax)
)

LEAKY_DOMAINS = {"negative_slope": [0.3, 0.0, 0.01, 1.0, 2.0], "rank": RANKS, "batch": BATCH}


def _draw_leaky(pick: Picker):
    return {"negative_slope": pick("negative_slope")}, [_shape(pick)]


register(
    LayerKind(name="LeakyReLU", family="activations", domains=LEAKY_DOMAINS, draw=_draw_leaky)
)

ELU_DOMAINS = {"alpha": [1.0, 0.5, 0.0, 2.0], "rank": RANKS, "batch": BATCH}


def _draw_elu(pick: Picker):
    return {"alpha": pick("alpha")}, [_shape(pick)]


register(LayerKind(name="ELU", family="activations", domains=ELU_DOMAINS, draw=_draw_elu))
