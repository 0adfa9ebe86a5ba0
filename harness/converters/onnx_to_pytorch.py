"""onnx → torch with ``onnx2pytorch.ConvertModel``."""

from __future__ import annotations

import copy
import warnings

from harness.converters import (
    CALLED_BY_NAME,
    Artifact,
    ConvertOptions,
    ScriptRecipe,
    torch_artifact,
)
from harness.core.stages import stage


@stage("onnx2pytorch", "onnx", "torch", packages=("onnx2pytorch", "torch"))
class Onnx2PytorchConverter:
    script = ScriptRecipe(
        imports=("import warnings", "", "import numpy as np", "import onnx",
                 "import onnxruntime as ort", "import torch",
                 "from onnx2pytorch import ConvertModel"),
        convert='''\
        with warnings.catch_warnings():  # as parity: it warns about every domain it does not know
            warnings.simplefilter("ignore", UserWarning)
            # a copy: ConvertModel rewrites the model it is given (MatMul+Add fused in place)
            module = ConvertModel(onnx.load_model_from_string(model.SerializeToString()),
                                  experimental=True)''',
        what="Converts the embedded ONNX model with onnx2pytorch.ConvertModel(experimental=True)\n"
             "as parity does, runs it with PyTorch and compares it with the embedded expected\n"
             "outputs (the source's outputs); onnxruntime on the same ONNX model is shown as a\n"
             "check.",
        packages=("numpy", "onnx", "onnxruntime", "torch", "onnx2pytorch"),
        # the graph inputs a run feeds, in order: the keywords its forward reads
        input_names="[i.name for i in model.graph.input\n"
                    "             if i.name not in {t.name for t in model.graph.initializer}]",
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        from onnx2pytorch import ConvertModel

        with warnings.catch_warnings():
            # It warns about every domain it does not know, tf2onnx's ai.onnx.ml included.
            warnings.simplefilter("ignore", UserWarning)
            # experimental=True: batch sizes other than 1 for the ops that need it. A copy:
            # ConvertModel rewrites the graph it is given (a MatMul and the Add after it fused
            # in place, the Add dropped), and the artifact is shared with the other legs.
            module = ConvertModel(copy.deepcopy(artifact.model), experimental=True)
        # Its forward reads keyword inputs by the model's input names, beside positional ones.
        return torch_artifact(module, artifact.input_names, {CALLED_BY_NAME: True})
