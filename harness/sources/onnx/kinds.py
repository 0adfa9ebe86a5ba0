"""Every ONNX kind, one module a family: importing this module registers them all (the
import list is the registry, as in onnx's ``onnx/reference/ops``)."""

from harness.sources.onnx.ops import activations  # noqa: F401
