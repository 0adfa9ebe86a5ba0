"""The reference itself: the channels_last twin that stands in for TensorFlow's unreliable
channels_first convolutions on the CPU."""

import numpy as np
import pytest

from harness.core.spec import LayerSpec
from harness.sources.keras.model import channels_last_twin
from tests.specs import conv2d

CONV_CF = conv2d((2, 2, 5, 4), seed=3, filters=3, kernel_size=[3, 2], strides=[2, 1],
                 padding="same", activation="relu", data_format="channels_first")


def test_only_channels_first_convolutions_get_a_twin():
    twin, perm = channels_last_twin(CONV_CF)
    assert twin.attrs["data_format"] == "channels_last"
    assert twin.input_shapes == ((2, 5, 4, 2),) and perm == (0, 2, 3, 1)
    last = LayerSpec("Conv2D", {**CONV_CF.attrs, "data_format": "channels_last"}, ((2, 5, 4, 2),))
    assert channels_last_twin(last) is None
    pool = LayerSpec("MaxPooling2D", {"pool_size": [2, 2], "data_format": "channels_first"},
                     ((1, 2, 4, 4),))
    assert channels_last_twin(pool) is None  # Keras itself transposes pooling inputs


def test_time_distributed_conv_twin_keeps_batch_and_time():
    spec = LayerSpec("TimeDistributed", {"layer": "Conv2D", "filters": 2, "kernel_size": [1, 1],
                                         "data_format": "channels_first"}, ((1, 3, 2, 4, 5),))
    twin, perm = channels_last_twin(spec)
    assert perm == (0, 1, 3, 4, 2)
    assert twin.input_shapes == ((1, 3, 4, 5, 2),)


def test_the_twin_reference_matches_an_independent_convolution():
    pytest.importorskip("tensorflow")
    torch = pytest.importorskip("torch")
    from harness.core.inputs import make_inputs
    from harness.sources.keras.model import build_model, twin_reference

    model = build_model(CONV_CF)
    x = make_inputs(CONV_CF)[0]
    (reference,) = twin_reference(model, CONV_CF, [x])
    kernel, bias = (w.numpy() for w in model.weights)
    # TF 'same': rows (5, kernel 3, stride 2) pad 2 in all, one above and one below; columns
    # (4, kernel 2, stride 1) pad 1, on the right.
    padded = torch.nn.functional.pad(torch.from_numpy(x), (0, 1, 1, 1))
    expected = torch.nn.functional.conv2d(
        padded, torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()), torch.from_numpy(bias),
        stride=(2, 1)).relu().numpy()
    assert reference.shape == expected.shape
    np.testing.assert_allclose(reference, expected, rtol=1e-5, atol=1e-5)


SEPARABLE_CF = LayerSpec(
    "SeparableConv1D", {"filters": 2, "kernel_size": [1], "strides": [2], "padding": "valid",
                        "depth_multiplier": 1, "dilation_rate": [1], "use_bias": True,
                        "activation": "linear", "data_format": "channels_first"},
    ((1, 1, 3),),
)


def test_a_source_that_disagrees_with_itself_is_blamed_and_faithful_legs_pass():
    """Keras builds a wrong graph for this channels_first SeparableConv1D; tf2onnx converts
    that graph faithfully. The source leg fails, the converter legs pass with a note."""
    pytest.importorskip("tensorflow")
    from harness.run.pipeline import Harness

    case = Harness("keras>tf2onnx>onnx2torch", known_issues=[]).run(SEPARABLE_CF)
    source, onnx_leg, torch_leg = case.legs
    assert (source.leg, source.verdict, source.blame) == ("keras", "fail", "keras")
    assert "differs from the same layer computed channels_last" in source.message
    for leg in (onnx_leg, torch_leg):
        assert leg.verdict == "pass"
        assert "reproduced the source's graph" in leg.note


@pytest.mark.parametrize("kind", ["MultiHeadAttention", "Attention", "CustomAffine"])
def test_wrapped_and_custom_layers_survive_a_keras_file(kind, tmp_path):
    """Golden stores, saved-format legs and reproducers reload these from .keras files."""
    import keras

    from harness.core.inputs import make_inputs
    from harness.core.strategies import sample
    from harness.runtimes.keras import run_keras
    from harness.runtimes.keras_custom import register_custom_objects
    from harness.sources.keras.model import build_model

    spec = sample(kind, 1)[0]
    model = build_model(spec)
    model.save(tmp_path / "model.keras")
    register_custom_objects()
    again = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    inputs = make_inputs(spec)
    for a, b in zip(run_keras(model, inputs), run_keras(again, inputs)):
        np.testing.assert_array_equal(a, b)


# TensorFlow's oneDNN Conv2D leaves the second batch element of this output stale on the CPUs
# parity was built on (the nightly profile found it); XLA computes it right.
STALE_CONV = conv2d((2, 2, 1, 1), seed=1, filters=2, kernel_size=[1, 2], strides=[1, 2],
                    padding="same")


def test_convolutions_alone_or_inside_a_model_get_an_xla_reading():
    from harness.sources.keras.model import wants_xla_reading

    assert wants_xla_reading(STALE_CONV)
    assert wants_xla_reading(LayerSpec("Functional", {
        "nodes": [{"kind": "ReLU", "attrs": {}, "inputs": ["input_0"]},
                  {"kind": "Conv2D", "attrs": STALE_CONV.attrs, "inputs": [0]}],
        "outputs": [1]}, ((2, 2, 1, 1),)))
    assert not wants_xla_reading(LayerSpec("Dense", {"units": 2}, ((1, 3),)))
    assert not wants_xla_reading(LayerSpec("MobileNetV2", {}, ((1, 32, 32, 3),)))


@pytest.mark.parametrize("onednn", [True, False, None])
def test_only_onednn_s_convolutions_get_the_second_reading(onednn, monkeypatch):
    pytest.importorskip("tensorflow")
    import harness.sources.keras as keras_source
    from harness.core.tolerance import TolerancePolicy

    compiled, xla_reading = [], keras_source.xla_reading
    monkeypatch.setattr(keras_source, "onednn_enabled", lambda: onednn)
    monkeypatch.setattr(keras_source, "xla_reading",
                        lambda model, inputs: compiled.append(model) or xla_reading(model, inputs))
    # Stride 1, no padding: a convolution oneDNN computes right, whatever this CPU runs.
    plain = conv2d((1, 3, 3, 2), seed=0, filters=2, kernel_size=[2, 2], padding="valid")
    keras_source.KerasSource().read(plain, policy=TolerancePolicy())
    # Unknown (a TensorFlow that does not say) reads twice, as a oneDNN one must.
    assert bool(compiled) is (onednn is not False)


def _torch_conv(model, x):
    import torch

    kernel, bias = (w.numpy() for w in model.weights)
    # TF 'same' on a width of 1 with kernel 2, stride 2: one column of padding, on the right.
    nchw = torch.nn.functional.pad(torch.from_numpy(x).permute(0, 3, 1, 2), (0, 1))
    return torch.nn.functional.conv2d(
        nchw, torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()), torch.from_numpy(bias),
        stride=(1, 2)).permute(0, 2, 3, 1).numpy()


def test_the_reference_of_a_convolution_is_right_even_where_onednn_is_not():
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    from harness.run.pipeline import Harness

    harness = Harness("keras>tf2onnx", known_issues=[])
    read = harness.read_source(STALE_CONV)
    source, inputs, reference, native, reading = (read.artifact, read.inputs, read.reference,
                                                  read.native, read.reading)
    np.testing.assert_allclose(reference[0], _torch_conv(source.model, inputs[0]),
                               rtol=1e-5, atol=1e-5)
    if native is not None:  # this CPU's oneDNN got it wrong, and the source is blamed
        assert "compiled with XLA" in reading
        case = harness.run(STALE_CONV)
        assert [(leg.leg, leg.verdict) for leg in case.legs] == [("keras", "fail"),
                                                                 ("keras>tf2onnx", "pass")]


def test_a_stale_eager_output_is_blamed_on_the_source_and_the_converters_pass(monkeypatch):
    """Whatever this CPU's oneDNN does: corrupt Keras' eager output the way oneDNN does (one
    batch element repeats the other's values). The XLA reading becomes the reference, the
    source leg fails as the known oneDNN issue, and the converted legs pass. The second
    reading is taken only where oneDNN runs, so the test says it does: on a CPU without
    AVX-512 (TensorFlow turns oneDNN off there) the case would otherwise read once."""
    pytest.importorskip("tensorflow")
    import harness.sources.keras as keras_source
    from harness import sources
    from harness.run.pipeline import Harness
    from harness.runtimes.keras import run_keras as eager
    from harness.sources.keras import yardstick

    def stale_second_element(model, inputs):
        outputs = eager(model, inputs)
        return [np.concatenate([y[:1], y[:1]]) for y in outputs]

    # The source's reading and its float64 yardstick both call Keras eagerly.
    monkeypatch.setattr(sources.keras, "run_keras", stale_second_element)
    monkeypatch.setattr(yardstick, "run_keras", stale_second_element)
    monkeypatch.setattr(keras_source, "onednn_enabled", lambda: True)
    case = Harness("keras>tf2onnx>onnx2torch").run(STALE_CONV)
    source, onnx_leg, torch_leg = case.legs
    assert (source.leg, source.verdict) == ("keras", "xfail")
    assert source.known_issue["id"] == "tensorflow-onednn-conv-garbage"
    assert "eager output differs from the same model compiled with XLA" in source.message
    assert onnx_leg.verdict == "pass" and torch_leg.verdict == "pass"

    # Without a convolution there is no second reading: the same corruption fails every leg.
    dense = LayerSpec("Dense", {"units": 2}, ((2, 3),))
    legs = Harness("keras>tf2onnx", known_issues=[]).run(dense).legs
    assert [(leg.leg, leg.verdict) for leg in legs] == [("keras>tf2onnx", "fail")]


def test_tensorflow_s_missing_kernel_is_one_source_refusal_naming_its_version():
    """TensorFlow registers MaxPool3D for half, bfloat16 and float only: a float64
    MaxPooling3D is the reference's own limit on its release, the case's one skip naming
    TensorFlow's version and words, never a failure charged to a converter."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    from harness.run.pipeline import Harness

    spec = LayerSpec("MaxPooling3D", {"data_format": "channels_last", "padding": "valid",
                                      "pool_size": [1, 1, 1], "strides": None},
                     ((1, 1, 1, 1, 1),), dtype="float64", seed=0)
    result = Harness("keras>tf2onnx>ort-optimized").run(spec)
    assert [(leg.leg, leg.verdict, leg.category) for leg in result.legs] == [
        ("keras", "skip", "source_refusal")]
    message = result.legs[0].message
    assert f"TensorFlow {tf.__version__} (Keras {keras.__version__})" in message
    assert "Value for attr 'T' of double is not in the list of allowed values" in message
    assert result.legs[0].metrics["environment"]["version"] == tf.__version__
    result.check()  # not a failure


def test_the_eigen_3d_same_window_gets_a_second_reading_only_without_onednn():
    from harness.sources.keras.model import EIGEN_READING, XLA_READING, second_reading

    pool = LayerSpec("MaxPooling3D", {"pool_size": [1, 1, 1], "strides": [1, 3, 1],
                                      "padding": "same"}, ((1, 1, 3, 1, 1),))
    assert second_reading(pool, onednn=False) == EIGEN_READING
    assert second_reading(pool, onednn=True) is None  # oneDNN pools right
    assert second_reading(LayerSpec("MaxPooling3D", {**pool.attrs, "padding": "valid"},
                                    pool.input_shapes), onednn=False) is None
    assert second_reading(LayerSpec("MaxPooling3D", {"pool_size": [2, 2, 2], "strides": None,
                                                     "padding": "same"},
                                    pool.input_shapes), onednn=False) is None
    conv = LayerSpec("Conv3D", {"filters": 1, "kernel_size": [2, 1, 1], "strides": [3, 1, 1],
                                "dilation_rate": [2, 1, 1], "padding": "same"},
                     ((1, 4, 1, 1, 1),))
    assert second_reading(conv, onednn=False) is None  # the dilated kernel spans 3
    assert second_reading(LayerSpec("Conv3D", {**conv.attrs, "dilation_rate": [1, 1, 1]},
                                    conv.input_shapes), onednn=False) == EIGEN_READING
    assert second_reading(STALE_CONV, onednn=True) == XLA_READING
    assert second_reading(STALE_CONV, onednn=False) is None


EIGEN_CHECK = """
import json
from harness.core.frameworks import prepare_imports
prepare_imports()
import numpy as np, keras, tensorflow as tf
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.runtimes.keras import onednn_enabled
layer = keras.layers.MaxPooling3D((1, 1, 1), strides=(1, 3, 1), padding="same")
model = keras.Sequential([keras.Input((1, 3, 1, 1)), layer])
x = np.arange(1, 4, dtype=np.float32).reshape(1, 1, 3, 1, 1)
xla = tf.function(lambda t: model(t), jit_compile=True)
spec = LayerSpec("MaxPooling3D", {"pool_size": [1, 1, 1], "strides": [1, 3, 1],
                                  "padding": "same", "data_format": "channels_last"},
                 ((1, 1, 3, 1, 1),))
case = Harness("keras>tf2onnx").run(spec)
print(json.dumps({"onednn": onednn_enabled(), "eager": np.asarray(model(x)).ravel().tolist(),
                  "xla": xla(tf.constant(x)).numpy().ravel().tolist(),
                  "legs": [[leg.leg, leg.verdict, (leg.known_issue or {}).get("id")]
                           for leg in case.legs]}))
"""


def test_without_onednn_a_3d_same_window_is_read_with_xla():
    """Pins tensorflow-eigen-3d-same-negative-padding (fails once TensorFlow's eager kernel
    takes the first element): in a process with oneDNN off, the eager MaxPooling3D is one step
    late, XLA is right and is the reference, and tf2onnx, right, passes."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    done = subprocess.run([sys.executable, "-c", EIGEN_CHECK], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], timeout=600,
                          env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["onednn"] is False
    assert found["eager"] == [2.0] and found["xla"] == [1.0]
    assert found["legs"] == [["keras", "xfail", "tensorflow-eigen-3d-same-negative-padding"],
                             ["keras>tf2onnx", "pass", None]]
