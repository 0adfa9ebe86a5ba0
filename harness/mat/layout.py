"""Move arrays between MATLAB and PyTorch layouts (see MAT_FORMATS.md, "Layouts").

MATLAB orders image activations H×W×C×N and sequences C×N×T (dlarray 'CBT'); PyTorch orders
them N×C×H×W and N×T×C. MATLAB drops trailing singleton dimensions when it stores an array,
so a weight's rank must come from the layer's own sizes (`restore_rank`), never from `ndim`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def restore_rank(array: np.ndarray, rank: int) -> np.ndarray:
    """`array` with the trailing singleton dimensions MATLAB dropped put back, up to `rank`."""
    array = np.asarray(array)
    if array.ndim > rank:
        extra = array.shape[rank:]
        if any(size != 1 for size in extra):
            raise ValueError(f"array of shape {array.shape} has more than {rank} dimensions")
        return array.reshape(array.shape[:rank])
    return array.reshape(array.shape + (1,) * (rank - array.ndim))


def matlab_shape(array: np.ndarray) -> tuple[int, ...]:
    """The size MATLAB reports (`size(x)`): at least 2-D, trailing singletons after 2 dropped."""
    shape = list(np.shape(array))
    while len(shape) > 2 and shape[-1] == 1:
        shape.pop()
    while len(shape) < 2:
        shape.append(1)
    return tuple(shape)


def image_to_torch(x: np.ndarray) -> np.ndarray:
    """MATLAB H×W×C×N (or H×W×C) image batch → PyTorch N×C×H×W."""
    return np.ascontiguousarray(restore_rank(x, 4).transpose(3, 2, 0, 1))


def image_to_matlab(x: np.ndarray) -> np.ndarray:
    """PyTorch N×C×H×W → MATLAB H×W×C×N."""
    return np.ascontiguousarray(np.asarray(x).transpose(2, 3, 1, 0))


def sequence_to_torch(x: np.ndarray) -> np.ndarray:
    """MATLAB C×N×T ('CBT') → PyTorch N×T×C."""
    return np.ascontiguousarray(restore_rank(x, 3).transpose(1, 2, 0))


def sequence_to_matlab(x: np.ndarray) -> np.ndarray:
    """PyTorch N×T×C → MATLAB C×N×T ('CBT')."""
    return np.ascontiguousarray(np.asarray(x).transpose(2, 0, 1))


def features_to_torch(x: np.ndarray) -> np.ndarray:
    """MATLAB C×N (feature batch, 'CB') → PyTorch N×C."""
    return np.ascontiguousarray(restore_rank(x, 2).T)


def features_to_matlab(x: np.ndarray) -> np.ndarray:
    """PyTorch N×C → MATLAB C×N."""
    return np.ascontiguousarray(np.asarray(x).T)


def conv_weight_to_torch(w: np.ndarray) -> np.ndarray:
    """kH×kW×Cin×Cout (MATLAB correlation kernels) → Cout×Cin×kH×kW; no kernel flip."""
    return np.ascontiguousarray(restore_rank(w, 4).transpose(3, 2, 0, 1))


def grouped_conv_weight_to_torch(w: np.ndarray) -> np.ndarray:
    """DLT grouped kH×kW×Cpg×Fpg×G → (G·Fpg)×Cpg×kH×kW."""
    w = restore_rank(w, 5)
    kh, kw, cpg, fpg, groups = w.shape
    return np.ascontiguousarray(w.transpose(4, 3, 2, 0, 1).reshape(groups * fpg, cpg, kh, kw))


def convt_weight_to_torch(w: np.ndarray) -> np.ndarray:
    """Transposed conv kH×kW×Cout×Cin → PyTorch ConvTranspose Cin×Cout×kH×kW."""
    return np.ascontiguousarray(restore_rank(w, 4).transpose(3, 2, 0, 1))


def fc_weight_to_torch(w: np.ndarray, input_hwc: Sequence[int]) -> np.ndarray:
    """O×(H·W·C) weights of a MATLAB fully connected layer that reads a column-major
    flattened H×W×C input → weights for `Linear` on a PyTorch N×C×H×W `flatten(1)`."""
    height, width, channels = input_hwc
    w = restore_rank(w, 2)
    out = w.shape[0]
    return np.ascontiguousarray(
        w.reshape(out, channels, width, height).transpose(0, 1, 3, 2).reshape(out, -1)
    )


def matlab_flatten(x_hwcn: np.ndarray) -> np.ndarray:
    """Column-major flatten of each H×W×C sample (h fastest, then w, then c) → (H·W·C)×N."""
    x = restore_rank(x_hwcn, 4)
    return x.reshape(-1, x.shape[3], order="F")


def dim_to_torch(dim: int, rank: int = 4) -> int:
    """A 1-based MATLAB dimension of an H×W×C×N array → the PyTorch N×C×H×W axis."""
    if rank != 4:
        raise ValueError("only 4-D image layouts map MATLAB dimensions to PyTorch axes")
    return {1: 2, 2: 3, 3: 1, 4: 0}[int(dim)]
