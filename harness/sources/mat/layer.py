"""What a MATLAB layer kind is: one record with its draw, weights, reference step and a
writer for each file format that can hold it.

A drawn MATLAB network is a chain (or a small graph) of such layers after an input; each
layer sees the size of what flows into it (``Size``: an H×W×C image, C features or C
channels over T time steps), draws its attributes from its documented domains, derives its
weights from the case's seed, computes MATLAB's output in NumPy (``harness.sources.mat.reference``,
MATLAB layouts, float64) and writes itself in each format's vocabulary:

- ``simplenn(attrs, weights, size) -> (type, fields, arrays)``: a MatConvNet SimpleNN
  ``net.layers{i}`` struct (``weights`` cell from ``arrays``);
- ``dagnn(attrs, weights, size) -> (block class, block fields, arrays)``: a DagNN layer, its
  parameters in ``net.params``;
- ``dlt(attrs, weights, size) -> (Class, properties)``: a ``parity.dlt/1`` layer struct.

The formats a kind can be drawn in are those it has a writer for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SIMPLENN = "simplenn"
DAGNN = "dagnn"
DLT = "dlt"
FORMATS = (SIMPLENN, DAGNN, DLT)  # simplest first: Hypothesis shrinks towards SimpleNN
VERSIONS = ("7", "7.3")  # -v7 (Level-5, scipy.io) and -v7.3 (HDF5, h5py)

IMAGE = "image"  # H×W×C×N in MATLAB, N×C×H×W in PyTorch
FEATURES = "features"  # C×N, N×C
SEQUENCE = "sequence"  # C×N×T, N×T×C
LAYOUTS = (IMAGE, FEATURES, SEQUENCE)

INPUT = "input"  # the kind of the network's input layer (DLT Normalization)

Attrs = dict[str, Any]
Weights = dict[str, Any]


@dataclass(frozen=True)
class Size:
    """What flows between two layers, batch left out."""

    layout: str
    channels: int
    height: int = 1
    width: int = 1
    steps: int = 1

    @classmethod
    def image(cls, height: int, width: int, channels: int) -> Size:
        return cls(IMAGE, channels, height, width)

    @classmethod
    def features(cls, channels: int) -> Size:
        return cls(FEATURES, channels)

    @classmethod
    def sequence(cls, channels: int, steps: int) -> Size:
        return cls(SEQUENCE, channels, steps=steps)

    @classmethod
    def of_torch(cls, shape: Sequence[int]) -> Size:
        """From a PyTorch input shape (batch first): N×C×H×W, N×C or N×T×C."""
        if len(shape) == 4:
            return cls.image(shape[2], shape[3], shape[1])
        if len(shape) == 2:
            return cls.features(shape[1])
        if len(shape) == 3:
            return cls.sequence(shape[2], shape[1])
        raise ValueError(f"no MATLAB layout has rank {len(shape)} (shape {list(shape)})")

    def torch_shape(self, batch: int) -> tuple[int, ...]:
        if self.layout == IMAGE:
            return (batch, self.channels, self.height, self.width)
        if self.layout == FEATURES:
            return (batch, self.channels)
        return (batch, self.steps, self.channels)

    @property
    def matlab(self) -> list[int]:
        """The size MATLAB's input layer declares: [H W C] for images, C otherwise."""
        return [self.height, self.width, self.channels] if self.layout == IMAGE \
            else [self.channels]

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels


def to_matlab(x: np.ndarray, layout: str) -> np.ndarray:
    """A PyTorch-layout batch in MATLAB's layout (float64)."""
    x = np.asarray(x, dtype=np.float64)
    if layout == IMAGE:
        return x.transpose(2, 3, 1, 0)
    if layout == FEATURES:
        return x.T
    return x.transpose(2, 0, 1)


def to_torch(y: np.ndarray, layout: str) -> np.ndarray:
    """A MATLAB-layout batch in PyTorch's layout."""
    if layout == IMAGE:
        return np.ascontiguousarray(y.transpose(3, 2, 0, 1))
    if layout == FEATURES:
        return np.ascontiguousarray(y.T)
    return np.ascontiguousarray(y.transpose(1, 2, 0))


def row(values) -> np.ndarray:
    """A 1×N double row, as MATLAB stores sizes and hyper-parameters."""
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def normal(rng: np.random.Generator, *shape: int, scale: float = 0.5) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def same_size(attrs: Attrs, size: Size) -> Size:
    return size


def no_weights(attrs: Attrs, size: Size, rng: np.random.Generator) -> Weights:
    return {}


Writer = Callable[[Attrs, Weights, Size], tuple]


@dataclass(frozen=True)
class MatLayer:
    """One MATLAB layer kind (see the module docstring).

    ``draw(pick, size, fmt)`` returns the attributes of a layer that fits an input of
    ``size`` in format ``fmt`` (``pick`` draws from ``domains``, simplest first), or None
    when none fits. ``reference(x, attrs, weights, size)`` is MATLAB's output for ``x`` (a
    list of arrays for a kind with several inputs), in MATLAB's layout.
    """

    name: str
    family: str
    takes: tuple[str, ...]  # the layouts it accepts
    domains: Mapping[str, Sequence[Any]]
    draw: Callable[..., Attrs | None]
    reference: Callable[..., np.ndarray]
    output: Callable[[Attrs, Any], Size] = same_size
    weights: Callable[[Attrs, Any, np.random.Generator], Weights] = no_weights
    simplenn: Writer | None = None
    dagnn: Writer | None = None
    dlt: Writer | None = None
    inputs: int = 1
    # Layers the kind needs in front of it, each reading what flows in (the two branches a
    # merge joins): lead_in(pick, size, fmt) -> [(kind, attrs), ...].
    lead_in: Callable[..., list[tuple[str, Attrs]]] | None = None
    # Drawn after another layer in a network (False: only as the case's own kind).
    chains: bool = True
    doc: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def formats(self) -> tuple[str, ...]:
        writers = {SIMPLENN: self.simplenn, DAGNN: self.dagnn, DLT: self.dlt}
        return tuple(fmt for fmt in FORMATS if writers[fmt] is not None)

    def writer(self, fmt: str) -> Writer:
        found = {SIMPLENN: self.simplenn, DAGNN: self.dagnn, DLT: self.dlt}[fmt]
        if found is None:
            raise ValueError(f"MATLAB layer kind {self.name!r} cannot be written as {fmt} "
                             f"(it has writers for {', '.join(self.formats)})")
        return found


def dagnn_block(block_class: str, simplenn: Writer,
                rename: Mapping[str, str] | None = None) -> Writer:
    """A DagNN writer from a SimpleNN one: the same fields (renamed where DagNN's block
    property differs, e.g. ``pool`` → ``poolSize``) under a ``dagnn.*`` block class."""

    def write(attrs: Attrs, weights: Weights, size: Size) -> tuple:
        _, fields, arrays = simplenn(attrs, weights, size)
        fields = {(rename or {}).get(k, k): v for k, v in fields.items()}
        return block_class, fields, arrays

    return write
