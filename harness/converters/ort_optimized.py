"""onnx → onnx, read by onnxruntime with every graph optimisation on.

The ONNX source's reference is onnxruntime with optimisations off (beside onnx's reference
evaluator), so this leg differs from it only by what onnxruntime's graph optimiser
rewrites (fusions, layout changes, constant folding): a difference blames the optimiser.
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions


class OrtOptimizedConverter:
    name = "ort-optimized"
    source = "onnx"
    target = "onnx"
    packages = ("onnxruntime",)

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return Artifact("onnx", artifact.model, list(artifact.input_names),
                        {**artifact.meta, "ort_optimization": "all"})
