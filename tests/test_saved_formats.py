"""The saved-format stages: ``.keras`` files, Keras-2 HDF5 and TF SavedModel, as paths a case
can go down, and the safety rules of loading a file (safe_mode, damaged files)."""

from pathlib import Path

import pytest

from harness.converters import ConversionPath, PathError, get
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from tests.specs import conv2d

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

DENSE = LayerSpec("Dense", {"units": 3, "use_bias": True, "activation": "tanh"}, ((2, 4),),
                  seed=3)
CONV = conv2d((1, 5, 5, 2), seed=5, filters=2, kernel_size=[3, 3], padding="same",
              activation="relu")
# Two inputs that do not commute: a SavedModel or ONNX model that swaps its inputs fails.
SUBTRACT = LayerSpec("Subtract", {}, ((2, 3), (2, 3)), seed=7)
LSTM = LayerSpec(
    "LSTM",
    {"units": 2, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
     "return_sequences": False, "return_state": False, "go_backwards": False,
     "unroll": False},
    ((1, 3, 2),),
    seed=1,
)


def verdicts(case):
    return {leg.leg: leg.verdict for leg in case.legs}


@pytest.mark.parametrize("text", [
    "keras>keras-file>tf2onnx>onnx2torch",
    "keras>h5>tf2onnx>onnx2torch",
    "keras>savedmodel>tf2onnx-savedmodel>onnx2torch",
    "keras>keras-file>savedmodel>tf2onnx-savedmodel",
])
def test_saved_format_paths_parse(text):
    assert ConversionPath.parse(text).name == text


def test_a_savedmodel_is_not_a_keras_model():
    with pytest.raises(PathError, match="stage 'tf2onnx' takes 'keras' artifacts but receives "
                                        "'savedmodel'"):
        ConversionPath.parse("keras>savedmodel>tf2onnx")


def test_stage_formats():
    assert (get("keras-file").source, get("keras-file").target) == ("keras", "keras")
    assert (get("h5").source, get("h5").target) == ("keras", "keras")
    assert (get("savedmodel").source, get("savedmodel").target) == ("keras", "savedmodel")
    assert (get("tf2onnx-savedmodel").source, get("tf2onnx-savedmodel").target) == (
        "savedmodel", "onnx")


@pytest.mark.parametrize("spec", [DENSE, CONV, SUBTRACT], ids=["Dense", "Conv2D", "Subtract"])
def test_every_leg_through_a_keras_file_and_a_savedmodel_passes(spec):
    case = Harness("keras>keras-file>tf2onnx>onnx2torch,"
                   "keras>savedmodel>tf2onnx-savedmodel>onnx2torch").run(spec)
    assert verdicts(case) == {
        "keras>keras-file": "pass",
        "keras>keras-file>tf2onnx": "pass",
        "keras>keras-file>tf2onnx>onnx2torch": "pass",
        "keras>savedmodel": "pass",
        "keras>savedmodel>tf2onnx-savedmodel": "pass",
        "keras>savedmodel>tf2onnx-savedmodel>onnx2torch": "pass",
    }, case.failure_message()
    runners = {leg.leg: leg.runner for leg in case.legs}
    assert runners["keras>keras-file"] == "keras"
    assert runners["keras>savedmodel"] == "savedmodel"
    assert runners["keras>savedmodel>tf2onnx-savedmodel"] == "onnxruntime"


def reading_files(monkeypatch, inspect=None) -> list:
    """The files the saved-format stages read back, each as (name, whether it is on disk,
    what ``inspect(path)`` says of it then)."""
    from harness.converters import saved_formats

    read, load = [], saved_formats.load_keras_file

    def loading(path):
        found = Path(path)
        read.append((found.name, found.is_file(), inspect(found) if inspect else None))
        return load(path)

    monkeypatch.setattr(saved_formats, "load_keras_file", loading)
    return read


def test_the_keras_file_leg_runs_a_model_loaded_from_disk(monkeypatch):
    read = reading_files(monkeypatch)
    harness = Harness("keras>keras-file")
    source, _, _ = harness.build_source(DENSE)
    loaded = get("keras-file").convert(source, harness.options)
    assert loaded.model is not source.model
    assert read == [("model.keras", True, None)]
    # Plain metadata, as the stage cache keeps it: no file is held once the model is read.
    assert loaded.meta == source.meta


@pytest.mark.parametrize("spec", [DENSE, CONV], ids=["Dense", "Conv2D"])
def test_a_keras2_h5_file_loads_in_keras3_and_converts(spec):
    pytest.importorskip("tf_keras")
    case = Harness("keras>h5>tf2onnx>onnx2torch").run(spec)
    assert verdicts(case) == {"keras>h5": "pass", "keras>h5>tf2onnx": "pass",
                              "keras>h5>tf2onnx>onnx2torch": "pass"}, case.failure_message()


def test_the_h5_file_is_written_by_tf_keras(monkeypatch):
    pytest.importorskip("tf_keras")
    import h5py

    def writer(path):
        with h5py.File(path, "r") as f:
            return str(f.attrs["keras_version"])

    read = reading_files(monkeypatch, writer)
    harness = Harness("keras>h5")
    source, _, _ = harness.build_source(DENSE)
    get("h5").convert(source, harness.options)
    ((name, on_disk, version),) = read
    assert name == "model.h5" and on_disk
    assert version.startswith("2.")  # tf-keras writes Keras 2 files


def test_keras3_cannot_load_a_keras2_lstm_from_h5():
    """A known Keras 3 bug (keras-team/keras#20750): the stage reports it, naming the file."""
    pytest.importorskip("tf_keras")
    case = Harness("keras>h5", known_issues=[]).run(LSTM)
    (leg,) = case.legs
    assert (leg.verdict, leg.category) == ("error", "conversion_error")
    assert "time_major" in leg.message
    assert "model.h5" in leg.message


def test_a_kind_tf_keras_lacks_is_refused_with_a_clear_message():
    pytest.importorskip("tf_keras")
    import keras

    from harness.converters.saved_formats import UnsupportedByTfKeras, build_tf_keras_twin

    inputs = keras.Input((3, 4))
    model = keras.Model(inputs, keras.layers.LayerNormalization(rms_scaling=True)(inputs))
    with pytest.raises(UnsupportedByTfKeras, match="unsupported by tf-keras: "
                                                   "LayerNormalization has no argument "
                                                   "'rms_scaling'"):
        build_tf_keras_twin(model)


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_the_tf_keras_twin_computes_in_the_layer_s_dtype(dtype):
    """A tf-keras layer casts its inputs to its own dtype: a twin built without the Keras 3
    layer's policy computed a float16 or float64 Dense in float32 (--converter h5 failed
    test_layer_axis[Dense-float16] with a dtype mismatch of parity's own making)."""
    pytest.importorskip("tf_keras")
    import keras
    import numpy as np

    from harness.converters.saved_formats import build_tf_keras_twin

    inputs = keras.Input((3,), dtype=dtype)
    model = keras.Model(inputs, keras.layers.Dense(2, dtype=dtype)(inputs))
    twin = build_tf_keras_twin(model)
    x = np.arange(3, dtype=dtype).reshape(1, 3)
    assert np.asarray(twin(x)).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(twin(x)), np.asarray(model(x)))


# -- safety --------------------------------------------------------------------------------

def test_a_keras_file_with_a_lambda_is_refused_naming_the_file(tmp_path):
    import keras

    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "untrusted.keras"
    model.save(path)
    with pytest.raises(SavedFormatError) as info:
        load_keras_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "safe_mode" in message and "Lambda" in message


def test_an_h5_file_with_a_lambda_is_refused_naming_the_file(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    inputs = tf_keras.Input((2,))
    model = tf_keras.Model(inputs, tf_keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "untrusted.h5"
    model.save(path, save_format="h5")
    with pytest.raises(SavedFormatError, match=f"{path}: refused to load"):
        load_keras_file(path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_a_truncated_model_file_gives_an_error_naming_the_file(tmp_path, suffix):
    import keras

    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(8)(inputs))
    path = tmp_path / f"damaged{suffix}"
    model.save(path)
    _truncate(path)
    with pytest.raises(SavedFormatError) as info:
        load_keras_file(path)
    assert str(path) in str(info.value)
    assert "cannot load this model file" in str(info.value)


def test_a_folder_without_saved_model_pb_is_not_a_savedmodel(tmp_path):
    from harness.converters.saved_formats import SavedFormatError, load_savedmodel

    with pytest.raises(SavedFormatError, match=f"{tmp_path}: not a SavedModel"):
        load_savedmodel(tmp_path)


def test_saved_files_go_when_the_artifact_does():
    import gc

    harness = Harness("keras>savedmodel")
    source, _, _ = harness.build_source(DENSE)
    artifact = get("savedmodel").convert(source, harness.options)
    folder = artifact.model.path
    assert (folder / "saved_model.pb").is_file()
    del artifact
    gc.collect()
    assert not folder.exists()
