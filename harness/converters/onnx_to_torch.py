"""onnx → torch with ``onnx2torch.convert`` (an ``fx.GraphModule``)."""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions


class Onnx2TorchConverter:
    name = "onnx2torch"
    source = "onnx"
    target = "torch"
    packages = ("onnx2torch", "torch", "torchvision")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx2torch

        module = onnx2torch.convert(artifact.model)
        return Artifact("torch", module.eval(), list(artifact.input_names))
