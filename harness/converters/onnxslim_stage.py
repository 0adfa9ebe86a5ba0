"""onnx → onnx with onnxslim (``onnxslim.slim``), read by onnxruntime as written.

onnxslim folds constants, removes dead and redundant nodes and fuses patterns (Conv with
BatchNormalization, Gemm, GELU, ...). Composable in front of any stage that reads ONNX
(``onnx>onnxslim>onnx2torch``); its own leg is read with onnxruntime's optimisations off, so
a failure there and not upstream is onnxslim's. A failing leg names the fusion pattern or
step without which the model passes (``diagnose``, harness.converters.rewriter_diagnosis).
"""

from __future__ import annotations

from typing import Any

from harness.converters import Artifact, ConvertOptions, ScriptRecipe
from harness.converters.onnx_ir import rewritten
from harness.converters.rewriter_diagnosis import leave_one_out, onnxslim_passes, slim_without
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

    def diagnose(self, received: Artifact, inputs, reference, tolerance) -> dict[str, Any]:
        """Which of onnxslim's patterns or steps, left out, makes the model pass."""
        return leave_one_out("onnxslim", received, onnxslim_passes(), slim_without, inputs,
                             reference, tolerance)
