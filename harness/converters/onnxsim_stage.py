"""onnx → onnx with onnx-simplifier (``onnxsim.simplify``), read by onnxruntime as written.

onnxsim folds constants (running onnxruntime on the constant subgraphs), infers shapes and
runs onnxoptimizer's fuse-and-elimination passes. Users put it between an exporter and a
converter (``onnx>onnxsim>onnx2torch``); its own leg (``onnx>onnxsim``) is read with
onnxruntime's optimisations off, as every ONNX leg is, so a failure there and not upstream
is the simplifier's. ``onnxsim.simplify`` returns a flag saying whether its own check (random
inputs through onnxruntime, before and after) passed: a model it judges changed is refused
here with that message, as the command-line tool refuses it. A failing leg names the
optimizer pass (or the constant folding) without which the model passes (``diagnose``,
harness.converters.rewriter_diagnosis).
"""

from __future__ import annotations

from typing import Any

from harness.converters import Artifact, ConversionError, ConvertOptions, ScriptRecipe
from harness.converters.onnx_ir import rewritten
from harness.converters.rewriter_diagnosis import leave_one_out, onnxsim_passes, simplify_without
from harness.core.stages import stage


@stage("onnxsim", "onnx", "onnx", packages=("onnxsim", "onnx", "onnxruntime"))
class OnnxSimConverter:
    # parity repro --script, parity issues export (harness.sources.onnx.repro)
    script = ScriptRecipe(
        imports=("import onnxsim",),
        convert='''\
        rewritten, ok = onnxsim.simplify(model)
        if not ok:
            raise RuntimeError("onnxsim.simplify: its own check found the simplified "
                               "model's outputs differ from the original's")''',
        what="Simplifies the embedded ONNX model with onnxsim.simplify(model), as parity's "
             "onnxsim stage does (a model its own check judges changed is refused),",
        packages=("numpy", "onnx", "onnxruntime", "onnxsim"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnxsim

        simplified, ok = onnxsim.simplify(artifact.model)
        if not ok:
            raise ConversionError("onnxsim.simplify: its own check found the simplified "
                                  "model's outputs differ from the original's")
        return rewritten(artifact, simplified)

    def diagnose(self, received: Artifact, inputs, reference, tolerance) -> dict[str, Any]:
        """Which of onnxsim's passes, left out, makes the model pass."""
        return leave_one_out("onnxsim", received, onnxsim_passes(), simplify_without, inputs,
                             reference, tolerance)
