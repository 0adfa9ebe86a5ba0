"""tflite → onnx as ``python -m tf2onnx.convert --tflite FILE`` does it
(``tf2onnx.convert.from_tflite``): the legs of a ``.tflite`` file (``parity check``). tf2onnx
converts the file's first subgraph; a signature that runs another is not applicable.

tf2onnx names the ONNX model's inputs and outputs after the flatbuffer's tensors
(``serving_default_image:0``); the artifact's ``input_tensors`` and ``output_tensors`` (the
file source's ``TfliteFile.meta``) list them in the case's order, and the ONNX model's are put
in that order, as a user who feeds and fetches them by name reads them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    NotApplicable,
    tf2onnx_passes,
    tf2onnx_skipped,
)
from harness.converters.onnx_ir import pin_ir_version
from harness.converters.saved_formats import order_values
from harness.core.frameworks import TF2ONNX_ENVIRONMENT
from harness.core.stages import stage


class Tf2OnnxTfliteError(ConversionError):
    """tf2onnx refused the .tflite file; the message is its first line."""


@stage("tf2onnx-tflite", "tflite", "onnx", packages=("tf2onnx", "onnx"),
       environment=TF2ONNX_ENVIRONMENT)
class Tf2OnnxTfliteConverter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        from tf2onnx import convert

        subgraph = artifact.meta.get("tflite_subgraph", 0)
        if subgraph:
            raise NotApplicable(
                f"tf2onnx --tflite converts a file's first subgraph, and signature "
                f"{artifact.meta.get('signature')!r} runs subgraph {subgraph}: it has no "
                f"option to convert another (the ONNX model would be another signature's)")
        with tempfile.TemporaryDirectory(prefix="parity-tf2onnx-tflite-") as folder:
            path = Path(folder) / "model.tflite"
            path.write_bytes(bytes(artifact.model))
            try:
                with tf2onnx_skipped.listening() as skipped:
                    proto, _ = tf2onnx_passes.converting(
                        lambda: convert.from_tflite(str(path), opset=options.opset))
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise Tf2OnnxTfliteError(f"tf2onnx --tflite refused the model "
                                         f"({type(exc).__name__}: {first})") from exc
        pin_ir_version(proto)
        order_values(proto.graph.input, artifact.meta.get("input_tensors"))
        order_values(proto.graph.output, artifact.meta.get("output_tensors"))
        return Artifact("onnx", proto, [i.name for i in proto.graph.input],
                        tf2onnx_skipped.skipped_meta(skipped, proto))
