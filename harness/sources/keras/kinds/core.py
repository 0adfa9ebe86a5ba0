"""Core layers: Dense, EinsumDense, Activation, Dropout (at inference)."""

from __future__ import annotations

import re

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    ACTIVATIONS,
    BATCH,
    BOOLS_TRUE_FIRST,
    FUSED_ACTIVATIONS,
    draw_spatial,
)

DENSE_DOMAINS = {
    "units": [1, 2, 3, 4, 8],
    "use_bias": BOOLS_TRUE_FIRST,
    "activation": FUSED_ACTIVATIONS,
    "rank": [2, 3, 4],
    "batch": BATCH,
}


def _draw_dense(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1), slack=6))
    attrs = {"units": pick("units"), "use_bias": pick("use_bias"), "activation": pick("activation")}
    return attrs, [shape]


register(LayerKind(name="Dense", family="core", domains=DENSE_DOMAINS, draw=_draw_dense))

ACTIVATION_DOMAINS = {"activation": ACTIVATIONS, "rank": [2, 3, 4], "batch": BATCH}


def _draw_activation(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1), slack=6))
    return {"activation": pick("activation")}, [shape]


register(
    LayerKind(name="Activation", family="core", domains=ACTIVATION_DOMAINS, draw=_draw_activation)
)

DROPOUT_DOMAINS = {"rate": [0.5, 0.0, 0.9], "rank": [2, 3, 4], "batch": BATCH}


def _draw_dropout(pick: Picker):
    rank = pick("rank")
    shape = (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))
    return {"rate": pick("rate"), "seed": 0}, [shape]


register(LayerKind(name="Dropout", family="core", domains=DROPOUT_DOMAINS, draw=_draw_dropout))

# Keras' documented forms: a dense layer, over a sequence, projecting into heads and out of
# them, with the kernel's axis put before the input's, and with an ellipsis before or after.
EINSUM_EQUATIONS = ["ab,bc->ac", "abc,cd->abd", "abc,cde->abde", "abcd,cde->abe",
                    "abc,bd->adc", "...b,bc->...c", "ab...,bc->ac..."]
EINSUM_DENSE_DOMAINS = {
    "equation": EINSUM_EQUATIONS,
    "bias_axes": [None, "c", "d", "e", "de"],
    "activation": FUSED_ACTIVATIONS,
    "lora_rank": [None, 1, 2],
    "lora_alpha": [None, 3],
    "ellipsis_rank": [0, 1, 2],
    "batch": BATCH,
}


def _axes(side: str) -> list[str]:
    """An einsum side's axes: its letters and "..." in their order."""
    return re.findall(r"\.\.\.|[a-z]", side)


def _draw_einsum_dense(pick: Picker):
    equation = pick("equation")
    inputs, rest = equation.split(",")
    kernel, output = rest.split("->")
    batch = pick("batch")
    extra = draw_spatial(pick, [1] * pick("ellipsis_rank")) if "..." in equation else []
    # "a" is the batch; without it ("...b") the ellipsis starts with the batch
    input_letters = [axis for axis in _axes(inputs) if axis not in ("a", "...")]
    sizes = dict(zip(input_letters, draw_spatial(pick, [1] * len(input_letters))))
    kernel_letters = [letter for letter in kernel if letter not in sizes]
    sizes |= dict(zip(kernel_letters, draw_spatial(pick, [1] * len(kernel_letters), slack=3)))
    shape = [batch] if inputs.startswith("...") else []
    for axis in _axes(inputs):
        shape += extra if axis == "..." else [batch if axis == "a" else sizes[axis]]
    # the output's axes but the batch and the ellipsis, None where the input sets them
    output_shape = [sizes[axis] if axis in kernel_letters else None
                    for axis in _axes(output) if axis not in ("a", "...")]
    outputs_of_kernel = "".join(axis for axis in _axes(output) if axis in kernel_letters)
    biased = [None, *(axes for axes in EINSUM_DENSE_DOMAINS["bias_axes"][1:]
                      if set(axes) <= set(outputs_of_kernel))]
    attrs = {
        "equation": equation,
        "output_shape": output_shape[0] if len(output_shape) == 1 else output_shape,
        "bias_axes": pick("bias_axes", biased),
        "activation": pick("activation"),
        "lora_rank": pick("lora_rank"),
    }
    attrs["lora_alpha"] = None if attrs["lora_rank"] is None else pick("lora_alpha")
    return attrs, [tuple(shape)]


register(LayerKind(name="EinsumDense", family="core", domains=EINSUM_DENSE_DOMAINS,
                   draw=_draw_einsum_dense))
