"""onnx → torch with ``onnx2pytorch.ConvertModel``."""

from __future__ import annotations

import warnings

from harness.converters import Artifact, ConvertOptions, ScriptRecipe


class Onnx2PytorchConverter:
    name = "onnx2pytorch"
    source = "onnx"
    target = "torch"
    packages = ("onnx2pytorch", "torch")
    script = ScriptRecipe(
        imports=("import warnings", "", "import numpy as np", "import onnx",
                 "import onnxruntime as ort", "import torch",
                 "from onnx2pytorch import ConvertModel"),
        convert='''\
        with warnings.catch_warnings():  # as parity: it warns about every domain it does not know
            warnings.simplefilter("ignore", UserWarning)
            module = ConvertModel(model, experimental=True)''',
        what="Converts the embedded ONNX model with onnx2pytorch.ConvertModel(experimental=True)\n"
             "as parity does, runs it with PyTorch and compares it with the embedded expected\n"
             "outputs (the source's outputs); onnxruntime on the same ONNX model is shown as a\n"
             "check.",
        packages=("numpy", "onnx", "onnxruntime", "torch", "onnx2pytorch"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        from onnx2pytorch import ConvertModel

        with warnings.catch_warnings():
            # It warns about every domain it does not know, tf2onnx's ai.onnx.ml included.
            warnings.simplefilter("ignore", UserWarning)
            # experimental=True: batch sizes other than 1 for the ops that need it.
            module = ConvertModel(artifact.model, experimental=True)
        return Artifact("torch", module.eval(), list(artifact.input_names))
