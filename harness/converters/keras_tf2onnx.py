"""keras → onnx with ``tf2onnx.convert.from_keras``."""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions
from harness.converters.onnx_ir import pin_ir_version


class Tf2OnnxConverter:
    name = "tf2onnx"
    source = "keras"
    target = "onnx"
    packages = ("tf2onnx", "tensorflow", "onnx")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import tensorflow as tf
        import tf2onnx

        model = artifact.model
        signature = [
            tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=name)
            for tensor, name in zip(model.inputs, artifact.input_names)
        ]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=options.opset)
        pin_ir_version(proto)
        return Artifact("onnx", proto, [i.name for i in proto.graph.input])
