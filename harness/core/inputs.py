"""Input data and weights derived from a spec's seed: plain NumPy, no framework."""

from __future__ import annotations

import zlib

import numpy as np

from harness.core.dtypes import array_dtype
from harness.core.spec import LayerSpec

INPUT_BOUND = 4.0

# Integer inputs (token ids for Embedding) are declared in the spec itself, so that a case
# stays reproducible from its JSON: ``attrs["int_inputs"]`` holds one entry per input, the
# exclusive upper bound of an int32 input drawn uniformly from [0, bound), or null for an
# input of the spec's dtype. Specs without the key (every float case) are unchanged.
INT_INPUTS = "int_inputs"
INT_DTYPE = "int32"


def int_bounds(spec_or_attrs) -> list[int | None]:
    """Per input, the exclusive upper bound of an integer input, or None for a float one."""
    attrs = getattr(spec_or_attrs, "attrs", spec_or_attrs)
    bounds = list(attrs.get(INT_INPUTS) or [])
    return [None if b is None else int(b) for b in bounds]




def input_dtypes(spec: LayerSpec) -> list[str]:
    """Per input, its NumPy dtype: int32 for an integer input, else ``harness.core.dtypes.array_dtype``."""
    bounds = int_bounds(spec)
    return [
        INT_DTYPE if i < len(bounds) and bounds[i] is not None else array_dtype(spec.dtype)
        for i in range(len(spec.input_shapes))
    ]


def _rng(spec: LayerSpec, stream: str) -> np.random.Generator:
    # Separate streams so that adding an input never changes the weights, and vice versa.
    return np.random.default_rng([spec.seed, zlib.crc32(stream.encode())])


def make_inputs(spec: LayerSpec) -> list[np.ndarray]:
    """Dense standard-normal data clipped to ±INPUT_BOUND, then the spec's overrides.

    An integer input (``int_inputs``) is uniform in [0, bound) instead; its overrides are
    taken modulo the bound, so that every override keeps it a valid index.
    """
    rng = _rng(spec, "inputs")
    bounds = int_bounds(spec)
    dtype = array_dtype(spec.dtype)
    arrays = []
    for i, shape in enumerate(spec.input_shapes):
        bound = bounds[i] if i < len(bounds) else None
        if bound is None:
            x = np.clip(rng.standard_normal(shape), -INPUT_BOUND, INPUT_BOUND).astype(dtype)
        else:
            x = rng.integers(0, bound, shape).astype(INT_DTYPE)
        x = np.asarray(x)  # a 0-d draw is a NumPy scalar: an array of rank 0, as declared
        if i < len(spec.input_overrides):
            flat = x.reshape(-1)
            for index, value in spec.input_overrides[i]:
                flat[index % flat.size] = value if bound is None else int(value) % bound
        arrays.append(x)
    return arrays


def draw_weight(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A non-trivial value for a weight variable, chosen by its Keras name.

    Zero biases and unit batch-norm statistics hide bugs (a dropped bias, a swapped mean and
    variance), so every variable gets values away from its initialiser's.
    """
    leaf = name.rsplit("/", 1)[-1]
    if leaf in ("moving_variance", "variance"):
        return rng.uniform(0.25, 2.0, shape)
    if leaf in ("gamma", "scale"):
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if leaf in ("moving_mean", "mean", "beta", "bias", "offset"):
        return rng.normal(0.0, 0.5, shape)
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return rng.normal(0.0, 1.0 / np.sqrt(max(fan_in, 1)), shape)


def weight_rng(spec: LayerSpec) -> np.random.Generator:
    return _rng(spec, "weights")
