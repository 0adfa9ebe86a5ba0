"""onnx → onnx with onnxslim (``onnxslim.slim``), read by onnxruntime as written.

onnxslim folds constants, removes dead and redundant nodes and fuses patterns (Conv with
BatchNormalization, Gemm, GELU, ...). Composable in front of any stage that reads ONNX
(``onnx>onnxslim>onnx2torch``); its own leg is read with onnxruntime's optimisations off, so
a failure there and not upstream is onnxslim's.
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions, ScriptRecipe
from harness.converters.onnx_ir import rewritten
from harness.core.stages import stage


@stage("onnxslim", "onnx", "onnx", packages=("onnxslim", "onnx"))
class OnnxSlimConverter:
    # parity repro --script, parity issues export (harness.sources.onnx.repro)
    script = ScriptRecipe(
        imports=("import onnxslim",),
        convert="        rewritten = onnxslim.slim(model)",
        what="Slims the embedded ONNX model with onnxslim.slim(model), as parity's onnxslim "
             "stage does,",
        packages=("numpy", "onnx", "onnxruntime", "onnxslim"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnxslim

        return rewritten(artifact, onnxslim.slim(artifact.model))
