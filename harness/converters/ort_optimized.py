"""onnx → onnx, read by onnxruntime with every graph optimisation on.

Every other ONNX leg is read as written, optimisations off (``harness.runtimes.onnxruntime``): the ONNX
source's reference, and the legs of converters that write ONNX (``keras>tf2onnx``,
``keras>keras-onnx``). This stage hands the same model on with ``ort_optimization = "all"``,
so its leg differs from the one upstream only by what onnxruntime's graph optimiser rewrites
(fusions, layout changes, constant folding): a failure here and not upstream is blamed on the
optimiser (``onnx>ort-optimized``, ``keras>tf2onnx>ort-optimized``).
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions
from harness.core.stages import stage

LEVEL = "all"


@stage("ort-optimized", "onnx", "onnx", packages=("onnxruntime",))
class OrtOptimizedConverter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return Artifact("onnx", artifact.model, list(artifact.input_names),
                        {**artifact.meta, "ort_optimization": LEVEL})
