"""keras → onnx with Keras' own ``model.export(format="onnx")``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness.converters import Artifact, ConvertOptions
from harness.converters.onnx_ir import pin_ir_version


class KerasOnnxExportConverter:
    name = "keras-onnx"
    source = "keras"
    target = "onnx"
    packages = ("keras", "tf2onnx", "onnx")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import onnx

        with tempfile.TemporaryDirectory(dir=options.workdir) as tmp:
            target = Path(tmp) / "model.onnx"
            artifact.model.export(str(target), format="onnx", verbose=False,
                                  opset_version=options.opset)
            proto = onnx.load(str(target))
        pin_ir_version(proto)
        return Artifact("onnx", proto, [i.name for i in proto.graph.input])
