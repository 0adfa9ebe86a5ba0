"""Models that standardise their float inputs themselves, as their writers build them: a Keras
regression model behind a ``Normalization`` adapted to its training data (TensorFlow's
regression and structured-data tutorials), in Keras 3's ``.keras`` and tf_keras' ``.h5``. Its
inputs are drawn on the scale the layer was adapted to: drawn N(0, 1), features of mean 50
and deviation 30 reached the model as about -1.7 in every row, and a ``Discretization`` behind
the layer put every row in one bin (an output constant over the drawn inputs: "weak")."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.sources.file import case_inputs, file_specs  # noqa: E402

NOTE = "features: drawn on the scale Normalization 'normalize' standardises"
MEANS = np.array([50.0, 3000.0, -2.0, 0.5])
DEVIATIONS = np.array([30.0, 800.0, 0.1, 0.25])


def training_data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (MEANS + DEVIATIONS * rng.standard_normal((400, 4))).astype("float32")


def keras3_bucketed(path):
    import keras

    keras.utils.set_random_seed(0)
    features = keras.Input((4,), name="features")
    normalize = keras.layers.Normalization(name="normalize")
    normalize.adapt(training_data())
    x = normalize(keras.layers.Dropout(0.1)(features))
    buckets = keras.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], name="bucket")(x)
    x = keras.layers.Concatenate()([x, keras.ops.cast(buckets, "float32")])
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(8, "relu")(x))
    keras.Model(features, out).save(path)


def keras2_regression(path):
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    normalize = tf_keras.layers.Normalization(name="normalize", input_shape=(4,))
    normalize.adapt(training_data())
    model = tf_keras.Sequential([normalize, tf_keras.layers.Dense(8, activation="relu"),
                                 tf_keras.layers.Dense(1)])
    model.layers[0]._name = "normalize"
    model.build((None, 4))
    model.save(path)


@pytest.mark.parametrize("write, name, path", [
    (keras3_bucketed, "model.keras", "keras>tflite"),
    (keras2_regression, "model.h5", "tf_keras>tf2onnx-keras2"),
], ids=["keras3-discretized", "tf_keras-h5"])
def test_inputs_are_drawn_on_the_scale_the_model_standardises(tmp_path, write, name, path):
    if name.endswith(".h5"):
        pytest.importorskip("tf_keras")
    model = tmp_path / name
    write(model)
    spec = file_specs(model)[0]
    names = spec.attrs["input_names"]
    (features,) = case_inputs(spec)
    assert features.dtype == np.float32 and features.shape == (4, 4)
    # Standardised by hand as the layer does: unit-scale values, not one constant per feature.
    standard = (features - MEANS) / DEVIATIONS
    assert np.abs(standard).max() <= 4.5
    assert (standard.std(axis=0) > 0.2).all(), standard

    outcome = run_check(CheckOptions(model=str(model), paths=path, report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {path: "agrees"}
    assert any(n.startswith(NOTE.replace("features", names[0])) for n in outcome.notes), \
        outcome.notes
    assert not any(n.startswith("weak:") for n in outcome.notes), outcome.notes


def test_an_inverting_normalization_reads_standardised_values(tmp_path):
    import keras

    features = keras.Input((4,), name="features")
    denormalize = keras.layers.Normalization(invert=True, mean=MEANS, variance=DEVIATIONS ** 2)
    keras.Model(features, keras.layers.Dense(2)(denormalize(features))).save(
        tmp_path / "inverse.keras")
    spec = file_specs(tmp_path / "inverse.keras")[0]
    assert "spread_inputs" not in spec.attrs
    (drawn,) = case_inputs(spec)
    assert np.abs(drawn).max() <= 4.0


# -- ONNX: torch's (x - mean) / std, and scikit-learn's StandardScaler as skl2onnx writes it --

def torch_standardised(path):
    import torch

    class Regression(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.linear = torch.nn.Linear(4, 1)
            self.register_buffer("mean", torch.tensor(MEANS, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(DEVIATIONS, dtype=torch.float32))

        def forward(self, features):
            return self.linear((features - self.mean) / self.std)

    torch.onnx.export(Regression(), (torch.zeros(2, 4),), str(path),
                      input_names=["features"], output_names=["y"],
                      dynamic_axes={"features": {0: "batch"}}, dynamo=False, opset_version=17)


def sklearn_scaled(path):
    """StandardScaler then LinearRegression, the nodes skl2onnx writes for them: Scaler
    (offset the means, scale the inverse deviations) and LinearRegressor."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Scaler", ["features"], ["scaled"], domain="ai.onnx.ml",
                          offset=MEANS.tolist(), scale=(1.0 / DEVIATIONS).tolist()),
         helper.make_node("LinearRegressor", ["scaled"], ["y"], domain="ai.onnx.ml",
                          coefficients=[0.5, -1.0, 2.0, 0.25], intercepts=[0.1])],
        "pipeline",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    onnx.save(model, path)


@pytest.mark.parametrize("write, consumer", [
    (torch_standardised, "Sub '/Sub' then Div '/Div'"),
    (sklearn_scaled, "Scaler 'scaled'"),
], ids=["torch", "skl2onnx"])
def test_an_onnx_graph_that_standardises_its_input(tmp_path, write, consumer):
    pytest.importorskip("onnxruntime")
    if write is torch_standardised:
        pytest.importorskip("torch")
    model = tmp_path / "model.onnx"
    write(model)
    spec = file_specs(model)[0]
    (features,) = case_inputs(spec)
    standard = (features - MEANS) / DEVIATIONS
    assert np.abs(standard).max() <= 4.5 and (standard.std(axis=0) > 0.2).all(), standard

    outcome = run_check(CheckOptions(model=str(model), paths="onnx>ort-optimized", report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {"onnx>ort-optimized": "agrees"}
    assert f"features: drawn on the scale {consumer} standardises" in " ".join(outcome.notes), \
        outcome.notes


def test_a_tflite_file_of_a_normalized_model(tmp_path):
    """The TFLite converter writes a Normalization as a SUB of the means then a MUL by the
    inverse deviations."""
    pytest.importorskip("ai_edge_litert")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    features = keras.Input((4,), name="features")
    normalize = keras.layers.Normalization(name="normalize")
    normalize.adapt(training_data())
    model = keras.Model(features, keras.layers.Dense(1)(normalize(features)))
    path = tmp_path / "regression.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    spec = file_specs(path)[0]
    (drawn,) = case_inputs(spec)
    standard = (drawn - MEANS) / DEVIATIONS
    assert np.abs(standard).max() <= 4.5 and (standard.std(axis=0) > 0.2).all(), standard
    outcome = run_check(CheckOptions(model=str(path), paths="tflite>tf2onnx-tflite",
                                     report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {"tflite>tf2onnx-tflite": "agrees"}
    assert any("drawn on the scale Sub" in n and "then Mul" in n for n in outcome.notes), \
        outcome.notes


def test_an_exported_savedmodel_of_a_normalized_model(tmp_path):
    """Keras 3's ``model.export`` keeps no Keras layers: the scale is read from the frozen
    graph, ``(x - mean) / max(sqrt(variance), epsilon)`` with the divisor folded."""
    import keras

    keras.utils.set_random_seed(0)
    features = keras.Input((4,), name="features")
    normalize = keras.layers.Normalization(name="normalize")
    normalize.adapt(training_data())
    keras.Model(features, keras.layers.Dense(1)(normalize(features))).export(
        tmp_path / "regression", verbose=False)

    (drawn,) = case_inputs(file_specs(tmp_path / "regression")[0])
    standard = (drawn - MEANS) / DEVIATIONS
    assert np.abs(standard).max() <= 4.5 and (standard.std(axis=0) > 0.2).all(), standard
    outcome = run_check(CheckOptions(model=str(tmp_path / "regression"), report=None,
                                     paths="savedmodel>tf2onnx-savedmodel"))
    assert {row.leg: row.verdict for row in outcome.rows} == {
        "savedmodel>tf2onnx-savedmodel": "agrees"}
    assert any("drawn on the scale Sub '" in n and "/Sub' then Div '" in n
               for n in outcome.notes), outcome.notes
