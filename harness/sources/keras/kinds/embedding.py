"""Embedding (integer inputs) and Masking (time steps equal to the mask value).

Embedding's input is token ids: the spec declares it with ``int_inputs`` (see
``harness.core.inputs``), so its data is int32 in [0, input_dim) and every override a valid id.
Masking zeroes the time steps whose features all equal ``mask_value``; its inputs are drawn
with whole masked steps (overrides over every feature of a step), shrinking to none.
"""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.inputs import INT_DTYPE, INT_INPUTS
from harness.core.registry import LayerKind, Picker, register
from harness.core.strategies import register_inputs
from harness.sources.keras.kinds._base import BATCH, draw_spatial

EMBEDDING_DOMAINS = {
    "input_dim": [2, 5, 1, 10],
    "output_dim": [1, 2, 3, 4],
    "rank": [1, 2],
    "batch": BATCH,
}


def _draw_embedding(pick: Picker):
    input_dim = pick("input_dim")
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * rank))
    attrs = {"input_dim": input_dim, "output_dim": pick("output_dim"), INT_INPUTS: [input_dim]}
    return attrs, [shape]


def _layer_attrs(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k != INT_INPUTS}


def _build_embedding(attrs: dict):
    import keras

    return keras.layers.Embedding(**_layer_attrs(attrs), name="embedding")


def _build_embedding_model(attrs: dict, input_shapes, dtype: str):
    import keras

    x = keras.Input(shape=input_shapes[0][1:], dtype=INT_DTYPE, name="input_0")
    y = keras.layers.Embedding(**_layer_attrs(attrs), dtype=dtype, name="embedding")(x)
    return keras.Model(x, y, name="parity_embedding")


register(
    LayerKind(
        name="Embedding",
        family="embedding",
        domains=EMBEDDING_DOMAINS,
        draw=_draw_embedding,
        build=_build_embedding,
        build_model=_build_embedding_model,
        doc="Embedding on int32 token ids in [0, input_dim) (declared by int_inputs).",
    )
)

MASKING_DOMAINS = {
    "mask_value": [0.0, 1.0, -2.0],
    "channels": [1, 2, 3],
    "rank": [3, 4],
    "batch": BATCH,
}


def _draw_masking(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 2)), pick("channels"))
    return {"mask_value": pick("mask_value")}, [shape]


@st.composite
def masked_steps(draw, shape: tuple[int, ...], mask_value: float):
    """Overrides that set whole time steps (every feature of a position) to ``mask_value``."""
    channels = shape[-1]
    positions = 1
    for d in shape[:-1]:
        positions *= d
    steps = draw(st.lists(st.integers(0, positions - 1), max_size=min(positions, 4), unique=True))
    return tuple((p * channels + c, float(mask_value)) for p in sorted(steps)
                 for c in range(channels))


def _masking_inputs(attrs, shapes, dtype):
    return st.tuples(masked_steps(shapes[0], attrs["mask_value"]))


register(
    LayerKind(name="Masking", family="embedding", domains=MASKING_DOMAINS, draw=_draw_masking)
)
register_inputs("Masking", _masking_inputs)
