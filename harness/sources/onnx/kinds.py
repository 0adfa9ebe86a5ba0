"""Every ONNX kind, one module a family: importing this module registers them all (the
import list is the registry, as in onnx's ``onnx/reference/ops``)."""

from harness.sources.onnx import axes, exported, graphs, patterns  # noqa: F401  (axes: what the kinds admit)
from harness.sources.onnx.ops import (  # noqa: F401
    activations,
    conv,
    indexing,
    logic,
    math,
    matmul,
    normalization,
    pool,
    recurrent,
    reduce,
    resize,
    shape,
)
