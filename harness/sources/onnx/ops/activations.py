"""Activations: elementwise ops with at most a few float attributes."""

from __future__ import annotations

from harness.sources.onnx.op import binary, unary

FAMILY = "activations"

unary("Relu", FAMILY)
unary("Sigmoid", FAMILY)
unary("Tanh", FAMILY)
unary("Softplus", FAMILY)
unary("Softsign", FAMILY)
unary("LeakyRelu", FAMILY, {"alpha": [0.01, 0.2, 1.5, -0.3]})
unary("Elu", FAMILY, {"alpha": [1.0, 0.5, 2.0]})
unary("Selu", FAMILY, {"alpha": [1.67326319217681884765625, 1.5], "gamma": [1.05070102214813232421875, 2.0]})
unary("Celu", FAMILY, {"alpha": [1.0, 0.5, 2.5]}, dtypes=("float32",))
unary("HardSigmoid", FAMILY, {"alpha": [0.2, 1 / 6, 0.5], "beta": [0.5, 0.0, 0.3]})
unary("HardSwish", FAMILY)
unary("ThresholdedRelu", FAMILY, {"alpha": [1.0, 0.0, 0.5, -0.5]})
unary("Mish", FAMILY)
unary("Gelu", FAMILY, {"approximate": ["none", "tanh"]})
binary("PRelu", FAMILY)
