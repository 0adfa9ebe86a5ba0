"""keras → onnx with ``tf2onnx.convert.from_keras``.

The leg reads the ONNX model as tf2onnx wrote it (onnxruntime's graph optimisations off);
``keras>tf2onnx>ort-optimized`` reads the same model with them on, so that a difference
between the two legs blames onnxruntime's optimiser, not tf2onnx.
"""

from __future__ import annotations

import contextlib

from harness.converters import (
    Artifact,
    ConvertOptions,
    ScriptRecipe,
    tf2onnx_passes,
    tf2onnx_skipped,
)
from harness.converters import tf2onnx_einsum as einsum_choices
from harness.converters.keras_state import reset_states
from harness.converters.onnx_ir import pin_ir_version
from harness.core.frameworks import TF2ONNX_ENVIRONMENT
from harness.core.stages import stage
from harness.runtimes.keras import named_inputs


@stage("tf2onnx", "keras", "onnx", packages=("tf2onnx", "tensorflow", "onnx"),
       environment=TF2ONNX_ENVIRONMENT)
class Tf2OnnxConverter:
    script = ScriptRecipe(
        imports=("import keras", "import numpy as np", "import onnxruntime as ort",
                 "import tensorflow as tf", "import tf2onnx"),
        convert='''\
        signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=f"input_{i}")
                     for i, t in enumerate(model.inputs)]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)''',
        what="Rebuilds the Keras model from its JSON config and the embedded weights, converts it\n"
             "with tf2onnx.convert.from_keras as parity does (opset {opset}, an input signature\n"
             "with a free batch dimension), runs the ONNX model with onnxruntime and compares it\n"
             "with Keras' own output for the embedded inputs.",
        packages=("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"),
    )

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return from_keras(artifact, options)


def from_keras(artifact: Artifact, options: ConvertOptions, device: str | None = None) -> Artifact:
    """``tf2onnx.convert.from_keras`` on the artifact's model (Keras 3's or tf_keras'), as its
    users call it: an input signature with a free batch dimension, on ``device`` where given."""
    import tensorflow as tf
    import tf2onnx

    model = artifact.model
    signature = [
        tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=name)
        for tensor, name in zip(model.inputs, artifact.input_names)
    ]
    structure = named_inputs(model)
    if structure is not None:  # the model takes one argument, the dict of its named inputs
        signature = [tf.nest.pack_sequence_as(structure, signature)]

    def convert():
        reset_states(model)  # else tf2onnx freezes the state an earlier call left
        with tf.device(device) if device else contextlib.nullcontext():
            return tf2onnx.convert.from_keras(model, input_signature=signature,
                                              opset=options.opset)

    einsum_choices.preload()
    with tf2onnx_skipped.listening() as skipped:
        proto, _ = tf2onnx_passes.converting(convert)
    einsum_choices.record_searched()
    pin_ir_version(proto)
    return Artifact("onnx", proto, [i.name for i in proto.graph.input],
                    {"ort_optimization": "disable",
                     **tf2onnx_skipped.skipped_meta(skipped, proto)})
