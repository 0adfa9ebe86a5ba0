"""The applications family: registration, flat graphs named as the pipeline expects, the
calibration that keeps random-weight architectures numerically healthy, determinism."""

import numpy as np
import pytest

from harness.core import registry
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.sources.keras.kinds import applications


def test_every_application_is_registered_as_a_slow_model_kind():
    for app in applications.APPLICATIONS:
        kind = registry.get(app.name)
        assert kind.family == "applications"
        assert {"slow", "application"} <= kind.tags
        assert kind.build_model is not None and kind.after_weights is applications.calibrate


@pytest.mark.parametrize("name", ["MobileNetV2", "MobileNetV3Small", "Xception"])
def test_drawn_specs_fit_the_architecture(name):
    app = applications.BY_NAME[name]
    kind = registry.get(name)
    for spec in sample(name, 6):
        ((batch, height, width, channels),) = spec.input_shapes
        assert height == width and height in app.sizes and channels == 3 and batch in (1, 2)
        assert set(spec.attrs) <= set(kind.domains)
        for attr, value in spec.attrs.items():
            assert value in kind.domains[attr], (attr, value)
        assert ("pooling" in spec.attrs) != spec.attrs["include_top"]


def test_the_default_spec_is_the_simplest_draw():
    spec = applications.default_spec("MobileNetV2")
    assert spec == LayerSpec("MobileNetV2", {"alpha": 0.35, "include_top": False,
                                             "pooling": None}, ((1, 32, 32, 3),), seed=0)
    top = applications.default_spec("ResNet50", include_top=True, seed=3)
    assert top.attrs == {"include_top": True, "classes": 10, "classifier_activation": "softmax"}
    assert top.seed == 3


def test_calibration_batch_starts_with_the_case_inputs():
    from harness.core.inputs import make_inputs

    spec = applications.default_spec("MobileNetV2", batch=2, seed=5)
    batch = applications.calibration_batch(spec)
    assert batch.shape == (2 + applications.CALIBRATION_SAMPLES, 32, 32, 3)
    np.testing.assert_array_equal(batch[:2], make_inputs(spec)[0])
    assert np.abs(batch).max() <= 4.0


# -- with Keras ----------------------------------------------------------------------------


def _build(spec):
    from harness.sources.keras.model import build_model

    return build_model(spec)


def _outputs(model, spec):
    from harness.core.inputs import make_inputs
    from harness.runtimes.keras import run_keras

    return run_keras(model, make_inputs(spec))[0]


def _batch_norms(model):
    import keras

    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.fixture(scope="module")
def mobilenet():
    pytest.importorskip("tensorflow")
    spec = applications.default_spec("MobileNetV2", batch=2, seed=0)
    return spec, _build(spec)


def test_the_model_is_flat_with_input_0(mobilenet):
    import keras

    _, model = mobilenet
    assert [t.name for t in model.inputs] == ["input_0"]
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)


def test_calibrated_outputs_are_order_one_and_depend_on_the_input(mobilenet):
    spec, model = mobilenet
    y = _outputs(model, spec).reshape(2, -1)
    assert np.isfinite(y).all()
    assert 0.1 < float(np.abs(y).max()) < 100.0
    assert float(y.std()) > 0.1
    # Not constant: the two images of the batch give clearly different outputs.
    assert float(np.abs(y[0] - y[1]).mean()) > 0.1 * float(np.abs(y).mean())


def test_batch_norm_statistics_stay_non_trivial(mobilenet):
    _, model = mobilenet
    norms = _batch_norms(model)
    assert len(norms) == 52
    for layer in norms:
        mean = np.asarray(layer.moving_mean)
        variance = np.asarray(layer.moving_variance)
        gamma = np.asarray(layer.gamma)
        assert np.all(variance > 0) and np.isfinite(mean).all()
        # Per-channel statistics, not the initialisers' zeros and ones.
        assert np.std(mean) > 0 and np.std(variance) > 0, layer.name
        assert not np.allclose(variance, 1.0) and not np.allclose(mean, 0.0), layer.name
        assert (gamma < 0).any() and (gamma > 0).any(), layer.name


def test_same_seed_same_model_other_seed_another(mobilenet):
    spec, model = mobilenet
    again = _build(spec)
    for a, b in zip(model.weights, again.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    np.testing.assert_array_equal(_outputs(model, spec), _outputs(again, spec))

    other_spec = applications.default_spec("MobileNetV2", batch=2, seed=1)
    other = _build(other_spec)
    variances = [(np.asarray(a.moving_variance), np.asarray(b.moving_variance))
                 for a, b in zip(_batch_norms(model), _batch_norms(other))]
    assert all(not np.array_equal(a, b) for a, b in variances)
    assert not np.allclose(_outputs(model, spec), _outputs(other, spec))


def test_without_batch_norm_the_kernels_are_scaled_instead():
    pytest.importorskip("tensorflow")
    spec = applications.default_spec("VGG16", batch=2)
    model = _build(spec)
    assert not _batch_norms(model)
    y = _outputs(model, spec).reshape(2, -1)
    assert np.isfinite(y).all() and 0.1 < float(np.abs(y).max()) < 100.0
    assert float(np.abs(y[0] - y[1]).mean()) > 0.1 * float(np.abs(y).mean())


def test_the_builder_refuses_other_inputs():
    pytest.importorskip("tensorflow")
    kind = registry.get("MobileNetV2")
    with pytest.raises(ValueError, match=r"one \(batch, height, width, 3\) input"):
        kind.build_model({"include_top": False, "pooling": None}, [(1, 32, 32, 1)], "float32")


@pytest.mark.slow
def test_nested_blocks_are_flattened():
    """ConvNeXt builds its stem and downsampling blocks as nested Sequential models."""
    import keras

    pytest.importorskip("tensorflow")
    spec = applications.default_spec("ConvNeXtTiny")
    model = _build(spec)
    assert [t.name for t in model.inputs] == ["input_0"]
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    names = {layer.name for layer in model.layers}
    assert {"convnext_tiny_stem_conv", "convnext_tiny_stem_layernorm"} <= names
    y = _outputs(model, spec)
    assert np.isfinite(y).all() and 0.1 < float(np.abs(y).max()) < 100.0
