"""The drawn Keras kinds down tf2onnx as its Keras-2 users run it: the ``tf-keras`` stage
(the drawn layer rebuilt in tf_keras, weights copied) and ``tf2onnx-keras2``, each leg's
verdict repeated by hand with tf_keras, tf2onnx, onnxruntime and onnx2torch; the admission
table (``harness.sources.keras.keras2_kinds``) measured again on a few kinds."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
onnx2torch = pytest.importorskip("onnx2torch")
tf2onnx = pytest.importorskip("tf2onnx")

import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.tolerance import TolerancePolicy  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
from harness.sources import get  # noqa: E402
from harness.sources.keras.keras2_kinds import ADMITTED, REFUSED  # noqa: E402
from harness.tools.keras2_measure import measure  # noqa: E402

PATH = "keras>tf-keras>tf2onnx-keras2>onnx2torch"


def test_a_drawn_layer_down_tf2onnx_as_keras2_users_run_it():
    spec = LayerSpec("Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [1, 1],
                                "padding": "same", "dilation_rate": [1, 1], "groups": 1,
                                "use_bias": True, "activation": "relu",
                                "data_format": "channels_last"},
                     ((2, 6, 6, 2),), seed=0)
    harness = Harness(PATH, known_issues=[], diagnose=False)
    result = harness.run(spec)
    reading = get("keras").read(spec, policy=TolerancePolicy())
    (x,), (reference,) = reading.inputs, reading.reference
    # By hand: the layer in tf_keras with the Keras 3 layer's weights, then tf2onnx.
    layer = next(lyr for lyr in reading.artifact.model.layers if lyr.weights)
    image = tf_keras.Input((6, 6, 2))
    twin = tf_keras.Model(image, tf_keras.layers.Conv2D(3, 3, padding="same",
                                                        activation="relu")(image))
    twin.set_weights([w.numpy() for w in layer.weights])
    proto, _ = tf2onnx.convert.from_keras(
        twin, input_signature=[tf.TensorSpec((None, 6, 6, 2), tf.float32, name="x")],
        opset=17)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        module = onnx2torch.convert(proto).eval()
        by_torch = module(torch.from_numpy(x)).numpy()
    hand = {"keras>tf-keras": twin(x, training=False).numpy(),
            "keras>tf-keras>tf2onnx-keras2": session.run(None, {"x": x})[0],
            "keras>tf-keras>tf2onnx-keras2>onnx2torch": by_torch}
    legs = {leg.leg: leg for leg in result.legs}
    assert set(legs) == set(hand)
    for name, outputs in hand.items():
        error = float(np.abs(outputs - reference).max())
        within = bool(np.all(np.abs(outputs - reference)
                             <= legs[name].tolerance.atol
                             + legs[name].tolerance.rtol * np.abs(reference)))
        assert legs[name].verdict == ("pass" if within else "fail"), name
        assert legs[name].metrics["max_abs"] == pytest.approx(error, abs=1e-7), name


def test_a_layer_tf_keras_lacks_is_refused_by_the_stage():
    spec = LayerSpec("LeakyReLU", {"negative_slope": 2.0}, ((2, 3),), seed=0)
    (leg, *rest) = Harness(PATH, known_issues=[], diagnose=False).run(spec).legs
    assert leg.leg == "keras>tf-keras" and leg.verdict == "error"
    assert "unsupported by tf-keras: LeakyReLU has no argument 'negative_slope'" in leg.message
    assert all(other.verdict == "skip" for other in rest)


@pytest.mark.parametrize("kind", ["Dense", "MaxPooling2D", "LeakyReLU", "Bidirectional"])
def test_the_admission_table_is_measured(kind):
    why = measure(kind, per_kind=2)
    assert (why is None) == (kind in ADMITTED)
    assert why is None or why == REFUSED[kind]


def test_the_admission_table_holds_every_drawn_kind():
    from harness.core import registry

    kinds = set(registry.names(without=registry.WHOLE_MODELS))
    assert set(ADMITTED) | set(REFUSED) == kinds
    assert not set(ADMITTED) & set(REFUSED)


def test_a_wrapper_is_refused_alike_whatever_the_process_built_before():
    import keras

    # Keras names a layer by how many of its class the process has made ("forward_lstm_4"),
    # so a refusal that quoted the inner layer's config changed with the tests run before.
    first = measure("Bidirectional", per_kind=1)
    for _ in range(3):
        keras.layers.Bidirectional(keras.layers.LSTM(1))
    assert measure("Bidirectional", per_kind=1) == first == REFUSED["Bidirectional"]
    assert "wraps a layer (LSTM)" in first
