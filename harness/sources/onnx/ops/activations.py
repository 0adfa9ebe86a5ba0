"""Activations: elementwise ops with at most a few float attributes.

dtypes are those onnxruntime's CPU provider has kernels for (measured with onnxruntime 1.31,
optimisations off): float64 only for Relu, Sigmoid and Tanh; Celu float32 only.
"""

from __future__ import annotations

import numpy as np

from harness.core.registry import Picker
from harness.sources.onnx.build import OPSET
from harness.sources.onnx.op import FLOATS, broadcast_pair, op_kind, opset_and_dtype, unary

FAMILY = "activations"
HALF = ("float32", "float16")

unary("Relu", FAMILY, dtypes=FLOATS)
unary("Sigmoid", FAMILY, dtypes=FLOATS)
unary("Tanh", FAMILY, dtypes=FLOATS)
unary("Softplus", FAMILY, dtypes=HALF)
unary("Softsign", FAMILY, dtypes=HALF)
unary("LeakyRelu", FAMILY, {"alpha": [0.01, 0.2, 1.5, -0.3]}, dtypes=HALF)
unary("Elu", FAMILY, {"alpha": [1.0, 0.5, 2.0]}, dtypes=HALF)
unary("Selu", FAMILY, {"alpha": [1.67326319217681884765625, 1.5],
                       "gamma": [1.05070102214813232421875, 2.0]}, dtypes=HALF)
unary("Celu", FAMILY, {"alpha": [1.0, 0.5, 2.5]}, dtypes=("float32",))
unary("HardSigmoid", FAMILY, {"alpha": [0.2, 1 / 6, 0.5], "beta": [0.5, 0.0, 0.3]},
      dtypes=HALF)
unary("HardSwish", FAMILY, dtypes=HALF)
unary("ThresholdedRelu", FAMILY, {"alpha": [1.0, 0.0, 0.5, -0.5]}, dtypes=HALF)
unary("Mish", FAMILY, dtypes=HALF)
unary("Gelu", FAMILY, {"approximate": ["none", "tanh"]}, dtypes=HALF)


def _draw_prelu(pick: Picker):
    """X and a slope that broadcasts to it one way (ONNX: "unidirectional broadcastable to
    X"): of a broadcasting pair, the larger shape is X, so the output has X's shape."""
    opset, dtype = opset_and_dtype(pick, "PRelu", HALF)
    x, slope = broadcast_pair(pick)
    if np.broadcast_shapes(x, slope) != x:
        x, slope = slope, x
    return {OPSET: opset}, [x, slope], dtype


op_kind("PRelu", FAMILY, _draw_prelu, dtypes=HALF)
