"""keras → onnx with Keras' own ``model.export(format="onnx")``.

As tf2onnx's leg, read with onnxruntime's graph optimisations off (the exporter's graph as
written); ``keras>keras-onnx>ort-optimized`` reads it with them on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness.converters import Artifact, ConvertOptions, ScriptRecipe
from harness.converters.keras_state import ensure_called, reset_states
from harness.converters.onnx_ir import pin_ir_version
from harness.core.frameworks import TF2ONNX_ENVIRONMENT
from harness.core.stages import stage


@stage("keras-onnx", "keras", "onnx", packages=("keras", "tf2onnx", "onnx"),
       environment=TF2ONNX_ENVIRONMENT)
class KerasOnnxExportConverter:
    script = ScriptRecipe(
        imports=("import tempfile", "", "import keras", "import numpy as np", "import onnx",
                 "import onnxruntime as ort"),
        convert='''\
        with tempfile.TemporaryDirectory() as tmp:
            model.export(f"{tmp}/model.onnx", format="onnx", verbose=False, opset_version=OPSET)
            proto = onnx.load(f"{tmp}/model.onnx")''',
        what="Rebuilds the Keras model from its JSON config and the embedded weights, exports it\n"
             "with Keras' model.export(format='onnx', opset_version={opset}) as parity does,\n"
             "runs the ONNX model with onnxruntime and compares it with Keras' own output.",
        packages=("numpy", "tensorflow", "keras", "onnx", "onnxruntime"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx

        ensure_called(artifact.model)  # a model rebuilt from the stage cache never was
        reset_states(artifact.model)  # else the export starts from an earlier call's state
        with tempfile.TemporaryDirectory(dir=options.workdir) as tmp:
            target = Path(tmp) / "model.onnx"
            artifact.model.export(str(target), format="onnx", verbose=False,
                                  opset_version=options.opset)
            proto = onnx.load(str(target))
        pin_ir_version(proto)
        return Artifact("onnx", proto, [i.name for i in proto.graph.input],
                        {"ort_optimization": "disable"})
