"""Activations: elementwise ops with at most a few float attributes.

dtypes are those onnxruntime's CPU provider has kernels for (measured with onnxruntime 1.31,
optimisations off): float64 only for Relu, Sigmoid and Tanh; Celu float32 only.
"""

from __future__ import annotations

from harness.sources.onnx.op import FLOATS, binary, unary

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
binary("PRelu", FAMILY, dtypes=HALF)
