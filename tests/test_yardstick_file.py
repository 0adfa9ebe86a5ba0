"""The float64 yardstick of a user's own model file (``parity check MODEL``): a Keras 3
``.keras`` file is recomputed in float64 by a twin rebuilt from its own configuration, a
Keras-2 file by tf_keras (an ONNX file's: tests/test_yardstick_onnx_file.py); a wrong leg is
not rescued."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import keras  # noqa: E402

from harness import converters  # noqa: E402
from harness.converters import Artifact  # noqa: E402
from harness.core import yardstick  # noqa: E402
from harness.core.tolerance import Rule, TolerancePolicy  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
from harness.runtimes.keras import keras_model_reading, widen_config  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.fakes import Fake  # noqa: E402
from tests.keras_files import keras2_sequential, keras3_small  # noqa: E402

SHAPE = (10, 10, 3)
ONNX_LEG = "keras>tf2onnx"


def keras3_model(dtype: str | None = None):
    """Conv, batch norm, conv, pooling, a 10-class head with drawn biases; seeded."""
    return keras3_small(SHAPE, head="logits", bias_initializer="random_normal", dtype=dtype)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("yardstick") / "small.keras"
    keras3_model().save(path)
    return path


def read(path):
    spec = files.file_specs(path)[0]
    return spec, files.FileSource().read(spec, policy=TolerancePolicy())


def onnx_legs(path, known_issues=None, *, atol=None, rtol=None, leg=ONNX_LEG):
    """The file's case down one leg, judged by the check's file rule (or ``atol``/``rtol``)."""
    rule = Rule(1e-4 if atol is None else atol, 1e-3 if rtol is None else rtol, source="file",
                reason="test")
    policy = TolerancePolicy(rules=[rule])
    spec = files.file_specs(path)[0]
    result = Harness(leg, policy=policy, known_issues=known_issues or [],
                     diagnose=False).run(spec)
    return {found.leg: found for found in result.legs}


def test_a_keras_file_is_recomputed_in_float64(keras_file):
    spec, reading = read(keras_file)
    (y64,) = reading.yardstick
    assert y64.dtype == np.float64
    # The same network built in float64 by hand, the file's weights cast into it.
    keras.config.set_dtype_policy("float64")
    try:
        wide = keras3_model()
    finally:
        keras.config.set_dtype_policy("float32")
    loaded = files.load(keras_file)
    wide.set_weights([w.astype(np.float64) for w in loaded.model.get_weights()])
    (x,) = reading.inputs
    expected = np.asarray(wide(x.astype(np.float64), training=False))
    np.testing.assert_allclose(y64, expected, rtol=0, atol=1e-12)
    source_error = float(np.abs(reading.reference[0] - y64).max())
    assert 0 < source_error < 1e-5  # float32's own rounding, not another computation
    assert yardstick.missing_reason(spec) is None


def test_the_second_size_has_its_own_float64_reading(keras_file):
    first, second = files.file_specs(keras_file)
    reading = files.FileSource().read(second, policy=TolerancePolicy())
    assert reading.inputs[0].shape[0] == 1  # the free batch at its second size
    assert reading.yardstick[0].shape == reading.reference[0].shape
    assert float(np.abs(reading.reference[0] - reading.yardstick[0]).max()) < 1e-5


def test_a_keras_file_legs_carry_the_yardstick(keras_file):
    legs = onnx_legs(keras_file)
    leg = legs[ONNX_LEG]
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "tolerance"
    measured = leg.metrics["yardstick"]
    assert 0 < measured["source_error"] < 1e-5
    assert measured["ratio"] <= yardstick.K
    assert "yardstick_missing" not in leg.metrics


def test_a_correct_leg_beyond_a_zero_tolerance_passes_by_the_yardstick(keras_file):
    leg = onnx_legs(keras_file, atol=0.0, rtol=0.0)[ONNX_LEG]
    assert leg.metrics["max_abs"] > 0  # the leg rounds otherwise than Keras
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "yardstick"
    assert "float64 yardstick" in leg.note


DROPPED_BIAS = "tf2onnx-dropped-bias"


def dropped_bias(converted: Artifact) -> Artifact:
    """The first bias tf2onnx wrote zeroed (a convolution's, or an Add of a constant after
    one): a converter bug."""
    from onnx import numpy_helper

    graph = converted.model.graph
    constants = {t.name: t for t in graph.initializer}
    biases = [node.input[2] if node.op_type == "Conv" else node.input[1]
              for node in graph.node
              if (node.op_type == "Conv" and len(node.input) > 2)
              or (node.op_type == "Add" and node.input[1] in constants)]
    bias = constants[biases[0]]
    zero = np.zeros_like(numpy_helper.to_array(bias))
    bias.CopyFrom(numpy_helper.from_array(zero, bias.name))
    return converted


def test_a_wrong_leg_is_not_rescued(keras_file):
    converters.register(Fake(DROPPED_BIAS, "tf2onnx", after=dropped_bias))
    try:
        leg = onnx_legs(keras_file, leg=f"keras>{DROPPED_BIAS}")[f"keras>{DROPPED_BIAS}"]
    finally:
        converters.unregister(DROPPED_BIAS)
    assert leg.verdict == "fail"
    assert leg.category == "numeric_mismatch"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] > 100 * yardstick.K


def test_a_keras2_file_is_recomputed_in_float64_by_tf_keras(tmp_path):
    model = keras2_sequential(SHAPE, head="logits", pool=False, softmax=False)
    model.save(tmp_path / "old.h5", save_format="h5")
    spec, reading = read(tmp_path / "old.h5")
    (y64,) = reading.yardstick
    assert y64.dtype == np.float64
    # tf_keras' float32 reading is the reference; its float64 twin is that much closer.
    (x,) = reading.inputs
    conv, bn, dense = (model.get_layer(name) for name in ("conv_a", "bn", "logits"))
    gamma, beta, mean, variance = (w.astype(np.float64) for w in bn.get_weights())
    kernel, bias = (w.astype(np.float64) for w in conv.get_weights())
    x64 = x.astype(np.float64)
    patches = np.lib.stride_tricks.sliding_window_view(x64, (3, 3), axis=(1, 2))
    y = np.maximum(np.einsum("nhwcij,ijcf->nhwf", patches, kernel) + bias, 0.0)
    y = (y - mean) / np.sqrt(variance + bn.epsilon) * gamma + beta
    w, b = (v.astype(np.float64) for v in dense.get_weights())
    np.testing.assert_allclose(y64, y.reshape(len(y), -1) @ w + b, rtol=0, atol=1e-10)
    assert 0 < float(np.abs(reading.reference[0] - y64).max()) < 1e-5
    assert yardstick.missing_reason(spec) is None


def test_a_float64_model_is_its_own_yardstick(tmp_path):
    keras3_model("float64").save(tmp_path / "wide.keras")
    spec, reading = read(tmp_path / "wide.keras")
    assert reading.yardstick is None
    assert yardstick.missing_reason(spec).startswith("the model computes in float64")


def test_the_twin_configuration_is_float64_and_refuses_code():
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"dtype": "float32", "name": "x"}},
        {"class_name": "InputLayer", "config": {"dtype": "int32", "name": "ids"}},
        {"class_name": "Dense", "config": {"dtype": {
            "module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "mixed_float16"}, "registered_name": None}}},
    ]}}
    wide = widen_config(config)
    layers = wide["config"]["layers"]
    assert [layers[0]["config"]["dtype"], layers[1]["config"]["dtype"]] == ["float64", "int32"]
    assert layers[2]["config"]["dtype"]["config"]["name"] == "float64"
    assert config["config"]["layers"][0]["config"]["dtype"] == "float32"  # a copy
    lambda_layer = {"class_name": "Lambda", "config": {"function": "..."}}
    with pytest.raises(ValueError, match="Lambda"):
        widen_config({"config": {"layers": [lambda_layer]}})
    quantized = {"class_name": "QuantizedDTypePolicy", "config": {"name": "int8_from_float32"}}
    with pytest.raises(ValueError, match="quantized"):
        widen_config({"config": {"dtype": quantized}})


def test_a_layers_derived_state_is_carried_into_the_twin(tmp_path):
    """An adapted Normalization computes with a mean and variance derived from its variables
    when a file is loaded; set_weights alone would leave the twin's at 0 and 1."""
    keras.utils.set_random_seed(0)
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(np.random.default_rng(0).normal(3.0, 0.2, (64, 5)).astype("float32"))
    features = keras.Input((5,), name="features")
    model = keras.Model(features, keras.layers.Dense(3, name="head")(norm(features)))
    model.save(tmp_path / "norm.keras")
    spec, reading = read(tmp_path / "norm.keras")
    assert float(np.abs(reading.reference[0] - reading.yardstick[0]).max()) < 1e-5


def test_a_twin_that_does_not_compute_the_model_is_no_yardstick(keras_file):
    spec, reading = read(keras_file)
    loaded = files.load(keras_file)
    elsewhere = [y + 1.0 for y in reading.reference]  # as if the twin lost a layer's state
    assert keras_model_reading(spec, loaded.model, reading.inputs, elsewhere) is None
    assert "does not compute the same network" in yardstick.missing_reason(spec)


def test_a_pinned_keras_file_keeps_its_yardstick(keras_file, tmp_path):
    from harness import golden
    from harness.check import CheckOptions, run_check

    root = tmp_path / "golden"
    outcome = run_check(CheckOptions(model=str(keras_file), paths=ONNX_LEG, report=None,
                                     pin="small", golden=str(root), diagnose=False))
    assert outcome.exit_code == 0
    store = golden.read_manifest(root)
    case_id = outcome.pinned["case_id"]
    assert "yardstick.npz" in store.cases[case_id]
    case = golden.load_case(store, case_id)
    result = case.replay(Harness(ONNX_LEG, known_issues=[], diagnose=False))
    (leg,) = result.legs
    assert leg.verdict == "pass"
    assert leg.metrics["yardstick"]["ratio"] <= yardstick.K
