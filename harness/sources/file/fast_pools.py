"""MaxPool and AveragePool for onnx's reference evaluator as numpy reductions over sliding
windows: the evaluator's own (``onnx.reference.ops.op_pool_common``) loops in Python over
every output element, about 1e6 kernel elements a second, so an InceptionV3's poolings alone
took 30 s of its float64 reading (``harness.sources.file.onnx_float64``); here they take
milliseconds.

Only the plainest attributes take this way: explicit pads (or ``VALID``), no dilation, no
``ceil_mode``, a float input and, for MaxPool, no second output (the indices). Anything else
runs the evaluator's own implementation. tests/test_yardstick_onnx_file.py compares these with
onnxruntime's float32 over a grid of attributes (where the evaluator's own loops raise on some
padded MaxPools and return a shorter output on another).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PLAIN_PADDING = ("NOTSET", "VALID", b"NOTSET", b"VALID", None)


def plain_attributes(auto_pad, ceil_mode, dilations, outputs: int = 1) -> bool:
    """Whether a pooling with these attributes (and this many outputs) takes the fast way."""
    return (auto_pad in PLAIN_PADDING and not ceil_mode and outputs == 1
            and all(d == 1 for d in (dilations or ())))


def _plain(x, auto_pad, ceil_mode, dilations, kernel_shape, outputs: int = 1) -> bool:
    return (np.asarray(x).dtype.kind == "f" and plain_attributes(auto_pad, ceil_mode, dilations,
                                                                 outputs)
            and kernel_shape is not None and len(kernel_shape) == np.ndim(x) - 2)


def _windows(x, kernel_shape, pads, strides, auto_pad, fill):
    """Every window of ``x`` padded with ``fill``, strided: (N, C, *out, *kernel)."""
    spatial = len(kernel_shape)
    pads = [0] * (2 * spatial) if auto_pad in ("VALID", b"VALID") or not pads else list(pads)
    strides = list(strides or [1] * spatial)
    padding = [(0, 0), (0, 0), *zip(pads[:spatial], pads[spatial:])]
    padded = np.pad(x, padding, constant_values=fill)
    windows = sliding_window_view(padded, tuple(kernel_shape), axis=tuple(range(2, x.ndim)))
    return windows[(slice(None), slice(None), *(slice(None, None, s) for s in strides))]


@lru_cache(maxsize=1)
def kernels() -> tuple[type, ...]:
    """The evaluator's MaxPool and AveragePool classes with the plain attributes' way added
    (``ReferenceEvaluator(model, new_ops=kernels())``); onnx's reference is imported here,
    when a reading needs it."""
    from onnx.reference.ops.op_average_pool import AveragePool_19 as EvaluatorAveragePool
    from onnx.reference.ops.op_max_pool import MaxPool as EvaluatorMaxPool

    class MaxPool(EvaluatorMaxPool):
        def _run(self, x, auto_pad=None, ceil_mode=None, dilations=None, kernel_shape=None,
                 pads=None, storage_order=None, strides=None):
            if not _plain(x, auto_pad, ceil_mode, dilations, kernel_shape,
                          len(self.onnx_node.output)):
                return super()._run(x, auto_pad=auto_pad, ceil_mode=ceil_mode,
                                    dilations=dilations, kernel_shape=kernel_shape, pads=pads,
                                    storage_order=storage_order, strides=strides)
            windows = _windows(x, kernel_shape, pads, strides, auto_pad, -np.inf)
            axes = tuple(range(x.ndim, windows.ndim))
            return (windows.max(axis=axes).astype(x.dtype, copy=False),)

    class AveragePool(EvaluatorAveragePool):
        def _run(self, x, auto_pad=None, ceil_mode=None, dilations=None, kernel_shape=None,
                 pads=None, strides=None, count_include_pad=None):
            if not _plain(x, auto_pad, ceil_mode, dilations, kernel_shape):
                return super()._run(x, auto_pad=auto_pad, ceil_mode=ceil_mode,
                                    dilations=dilations, kernel_shape=kernel_shape, pads=pads,
                                    strides=strides, count_include_pad=count_include_pad)
            axes = tuple(range(x.ndim, x.ndim + len(kernel_shape)))
            total = _windows(x, kernel_shape, pads, strides, auto_pad, 0.0).sum(axis=axes)
            if count_include_pad:
                count = float(np.prod(kernel_shape))
            else:  # the window's elements inside the input
                ones = np.ones((1, 1, *x.shape[2:]), dtype=x.dtype)
                count = _windows(ones, kernel_shape, pads, strides, auto_pad, 0.0).sum(axis=axes)
            return ((total / count).astype(x.dtype, copy=False),)

    return MaxPool, AveragePool
