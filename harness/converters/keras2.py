"""The stages of a Keras-2 model (a ``tf_keras`` artifact: the model tf_keras reads from a
user's ``.h5``, architecture JSON + weights, or SavedModel with Keras metadata).

``tf2onnx-keras2``  tf_keras → onnx: ``tf2onnx.convert.from_keras`` on the tf_keras model,
                    as tf2onnx documents for Keras 2 and as its Keras-2 users run it (an
                    input signature with a free batch dimension, as the ``tf2onnx`` stage).
``keras3``          tf_keras → keras: the model carried into Keras 3 (saved by tf_keras as
                    HDF5, loaded by Keras 3 with safe_mode), as a user who moves to Keras 3
                    loads it. The legs after it answer "and if you move to Keras 3?":
                    ``parity check`` reports them apart (``MIGRATION_STAGE``).
``tf-keras``        keras → tf_keras: a drawn one-layer case rebuilt in tf_keras from its own
                    configuration, its weights copied (the ``h5`` stage's twin), so that the
                    drawn Keras kinds that tf_keras builds as the same layer
                    (``harness.sources.keras.keras2_kinds``) also go down tf2onnx as Keras-2 users run it:
                    ``keras>tf-keras>tf2onnx-keras2>...``.

A ``tf_keras`` artifact is run by tf_keras calling the model (``training=False``).
"""

from __future__ import annotations

import numpy as np

from harness.converters import Artifact, ConvertOptions
from harness.converters.keras_state import reset_states
from harness.converters.keras_tf2onnx import from_keras
from harness.converters.saved_formats import build_tf_keras_twin, carry_into_keras3
from harness.core.frameworks import TF2ONNX_ENVIRONMENT
from harness.core.stages import stage
from harness.runtimes.keras import as_arrays, keras_inputs
from harness.runtimes.registry import register_runner

# The stage that moves a Keras-2 model into Keras 3: a leg through it is a migration leg.
MIGRATION_STAGE = "keras3"


def is_migration_leg(leg: str) -> bool:
    return MIGRATION_STAGE in leg.split(">")[1:]


@stage("tf2onnx-keras2", "tf_keras", "onnx", packages=("tf2onnx", "tensorflow", "tf_keras", "onnx"),
       environment=TF2ONNX_ENVIRONMENT)
class Tf2OnnxKeras2Converter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return from_keras(artifact, options, device="/cpu:0")


@stage(MIGRATION_STAGE, "tf_keras", "keras", packages=("tf_keras", "keras", "h5py"))
class Keras3Converter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        reset_states(artifact.model)
        model = carry_into_keras3(artifact.model, options)
        reset_states(model)
        return Artifact("keras", model, list(artifact.input_names), dict(artifact.meta))


@stage("tf-keras", "keras", "tf_keras", packages=("tf_keras",))
class TfKerasConverter:
    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        return Artifact("tf_keras", build_tf_keras_twin(artifact.model),
                        list(artifact.input_names))


def run_tf_keras(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model called on ``inputs`` from its reset state, and left reset."""
    reset_states(model)
    arrays = as_arrays(model(keras_inputs(model, inputs), training=False))
    reset_states(model)
    return arrays


class TfKerasRunner:
    name = "tf_keras"

    def run(self, artifact: Artifact, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return run_tf_keras(artifact.model, inputs)


register_runner("tf_keras", lambda device, threads: TfKerasRunner())
