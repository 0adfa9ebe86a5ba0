"""The stages of a Keras-2 model (a ``tf_keras`` artifact: the model tf_keras reads from a
user's ``.h5``, architecture JSON + weights, or SavedModel with Keras metadata).

``tf2onnx-keras2``  tf_keras → onnx: ``tf2onnx.convert.from_keras`` on the tf_keras model,
                    as tf2onnx documents for Keras 2 and as its Keras-2 users run it (an
                    input signature with a free batch dimension, as the ``tf2onnx`` stage).
``keras3``          tf_keras → keras: the model carried into Keras 3 (saved by tf_keras as
                    HDF5, loaded by Keras 3 with safe_mode), as a user who moves to Keras 3
                    loads it. The legs after it answer "and if you move to Keras 3?":
                    ``parity check`` reports them apart (``MIGRATION_STAGE``).
"""

from __future__ import annotations

from harness.converters import Artifact, ConvertOptions
from harness.converters.onnx_ir import pin_ir_version

# The stage that moves a Keras-2 model into Keras 3: a leg through it is a migration leg.
MIGRATION_STAGE = "keras3"


def is_migration_leg(leg: str) -> bool:
    return MIGRATION_STAGE in leg.split(">")[1:]


class Tf2OnnxKeras2Converter:
    name = "tf2onnx-keras2"
    source = "tf_keras"
    target = "onnx"
    packages = ("tf2onnx", "tensorflow", "tf_keras", "onnx")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import tensorflow as tf
        import tf2onnx

        model = artifact.model
        signature = [
            tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=name)
            for tensor, name in zip(model.inputs, artifact.input_names)
        ]
        with tf.device("/cpu:0"):
            proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature,
                                                  opset=options.opset)
        pin_ir_version(proto)
        return Artifact("onnx", proto, [i.name for i in proto.graph.input],
                        {"ort_optimization": "disable"})


class Keras3Converter:
    name = MIGRATION_STAGE
    source = "tf_keras"
    target = "keras"
    packages = ("tf_keras", "keras", "h5py")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        from harness.converters.saved_formats import carry_into_keras3

        model, files = carry_into_keras3(artifact.model, options)
        return Artifact("keras", model, list(artifact.input_names),
                        {**artifact.meta, "file": files})
