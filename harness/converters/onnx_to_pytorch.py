"""onnx → torch with ``onnx2pytorch.ConvertModel``."""

from __future__ import annotations

import warnings

from harness.converters import Artifact, ConvertOptions


class Onnx2PytorchConverter:
    name = "onnx2pytorch"
    source = "onnx"
    target = "torch"
    packages = ("onnx2pytorch", "torch")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        from onnx2pytorch import ConvertModel

        with warnings.catch_warnings():
            # It warns about every domain it does not know, tf2onnx's ai.onnx.ml included.
            warnings.simplefilter("ignore", UserWarning)
            # experimental=True: batch sizes other than 1 for the ops that need it.
            module = ConvertModel(artifact.model, experimental=True)
        return Artifact("torch", module.eval(), list(artifact.input_names))
