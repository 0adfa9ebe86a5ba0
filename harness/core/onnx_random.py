"""ONNX nodes whose outputs are random: no two runs of the model agree, so no conversion of
it can be compared with another run (onnx's node tests that draw are left out; a user's file
that draws is refused with the nodes named)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

RANDOM_OPS = frozenset({"Bernoulli", "RandomUniform", "RandomUniformLike", "RandomNormal",
                        "RandomNormalLike", "Multinomial"})
DROPOUT_DEFAULT_RATIO = 0.5


def dropout_draws_mask(node, value_of: Callable[[str], Any]) -> bool:
    """A Dropout whose training_mode input is true and whose ratio is not zero (opset 12 on:
    both are inputs, the ratio 0.5 where omitted); ``value_of(name)`` is an input's value,
    None where not known."""
    names = list(node.input) + ["", ""]
    training = value_of(names[2]) if names[2] else None
    if training is None or not bool(np.asarray(training)):
        return False
    ratio = value_of(names[1]) if names[1] else None
    return float(np.asarray(DROPOUT_DEFAULT_RATIO if ratio is None else ratio)) != 0.0


def random_nodes(graphs, value_of: Callable[[str], Any]) -> list[str]:
    """The nodes of ``graphs`` that draw, in words: ``RandomNormal 'noise'``, ``Dropout
    '/drop/Dropout' in training mode``."""
    found = []
    for graph in graphs:
        for node in graph.node:
            name = node.name or (node.output[0] if node.output else "")
            if node.op_type in RANDOM_OPS:
                found.append(f"{node.op_type} {name!r}")
            elif node.op_type == "Dropout" and dropout_draws_mask(node, value_of):
                found.append(f"Dropout {name!r} in training mode")
    return found
