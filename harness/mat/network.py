"""The neutral form of an imported network: layers in MATLAB terms, wired by tensor names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.mat.errors import MatImportError

SIMPLENN = "matconvnet.simplenn"
DAGNN = "matconvnet.dagnn"
DLT = "parity.dlt/1"


@dataclass
class Layer:
    """One MATLAB layer.

    `type` is the MatConvNet type in SimpleNN words (`conv`, `bnorm`, ..., or a custom type
    such as `SubP`) or the Deep Learning Toolbox class name (`Convolution2DLayer`). `params`
    holds the learnables as NumPy arrays in MATLAB layout and shape, in file order (SimpleNN:
    `weights{1}`, `weights{2}`, ...; DagNN: the `net.params` names; DLT: property names).
    `attrs` holds every other field (hyper-parameters) as read. `inputs`/`outputs` name the
    tensors the layer reads and writes; `index` is the 1-based position in the file.
    """

    name: str
    type: str
    index: int
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        """How error messages name this layer."""
        return f"layer {self.index} '{self.name}' (type '{self.type}')"

    def param(self, position: int) -> np.ndarray:
        """The `position`-th (0-based) learnable, in file order."""
        values = list(self.params.values())
        if position >= len(values):

            raise MatImportError(
                f"{self.where} has {len(values)} weight arrays; its type needs at least "
                f"{position + 1}",
                layer=self.name,
            )
        return values[position]


@dataclass
class Network:
    """A MATLAB network in neutral form; `source` is the file it came from."""

    format: str
    layers: list[Layer]
    inputs: list[str]
    outputs: list[str]
    source: str = ""
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)
