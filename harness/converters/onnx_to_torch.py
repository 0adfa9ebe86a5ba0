"""onnx → torch with ``onnx2torch.convert`` (an ``fx.GraphModule``)."""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions, ScriptRecipe, torch_artifact
from harness.core.stages import stage


@stage("onnx2torch", "onnx", "torch", packages=("onnx2torch", "torch", "torchvision"))
class Onnx2TorchConverter:
    script = ScriptRecipe(
        imports=("import numpy as np", "import onnx", "import onnx2torch",
                 "import onnxruntime as ort", "import torch"),
        convert="        module = onnx2torch.convert(model)",
        what="Converts the embedded ONNX model with onnx2torch.convert as parity does, runs it\n"
             "with PyTorch and compares it with the embedded expected outputs (the source's\n"
             "outputs for the embedded inputs); onnxruntime on the same ONNX model is shown as a\n"
             "check.",
        packages=("numpy", "onnx", "onnxruntime", "torch", "torchvision", "onnx2torch"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx2torch

        module = onnx2torch.convert(artifact.model)
        return torch_artifact(module, artifact.input_names)
