"""``parity check`` routes a Keras file by what it says of itself (a zip's ``metadata.json``,
an HDF5 file's ``keras_version``), never by its name, and reads it with the Keras that wrote
it; each verdict is repeated by hand with that Keras and tf2onnx:

- a ``.keras`` zip as tf.keras 2.13-2.15 wrote it (``metadata.json`` keras_version 2.15.0,
  ``config.json`` naming ``keras.src.engine.functional``): tf_keras 2.21 writes its zips with
  ``tf_keras.src`` modules, so the test builds one by hand from tf_keras' own zip, renaming
  the modules as tf.keras 2.15's ``saving_lib`` named them. Keras 3 cannot read it; tf_keras
  can;
- HDF5 files named ``.keras`` (Keras 2's and Keras 3's), and a Keras 3 zip named ``.zip``;
- a Keras 2.1 Sequential JSON whose ``config`` is the bare list of its layers.
"""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
tf_keras = pytest.importorskip("tf_keras")
tf2onnx = pytest.importorskip("tf2onnx")

import keras  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from tests.test_check_real_files_inputs import ATOL, leg, tf2onnx_by_hand  # noqa: E402

KERAS2_LEG = "tf_keras>tf2onnx-keras2"


def keras2_functional():
    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((3,), name="x")
    hidden = tf_keras.layers.Dense(4, activation="tanh", name="hidden")(x)
    return tf_keras.Model(x, tf_keras.layers.Dense(2, name="head")(hidden))


def as_tf_keras_215(written, target):
    """tf_keras' own .keras zip, its modules named as tf.keras 2.15 named them."""
    with zipfile.ZipFile(written) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = members["config.json"].decode().replace('"tf_keras.src.', '"keras.src.')
    metadata = {**json.loads(members["metadata.json"]), "keras_version": "2.15.0"}
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", members["model.weights.h5"])
    return json.loads(config)


def by_hand_agrees(model, shape=(3,)):
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    _, (converted,) = tf2onnx_by_hand(model, [x])
    return np.abs(converted - np.asarray(model(x, training=False))).max() < ATOL


def test_a_tf_keras_215_zip_is_read_by_tf_keras(tmp_path):
    model = keras2_functional()
    model.save(tmp_path / "written.keras")
    config = as_tf_keras_215(tmp_path / "written.keras", tmp_path / "old.keras")
    assert config["module"] == "keras.src.engine.functional"
    with pytest.raises(Exception, match="keras.src.engine.functional"):
        keras.saving.load_model(tmp_path / "old.keras", compile=False)
    legacy = tf_keras.models.load_model(tmp_path / "old.keras", compile=False)
    assert by_hand_agrees(legacy)

    outcome = run_check(CheckOptions(model=str(tmp_path / "old.keras"), paths=KERAS2_LEG,
                                     report=None))
    assert (outcome.kind, outcome.start) == ("keras", "tf_keras")
    assert "written by Keras 2 (keras_version 2.15.0): read by tf_keras" in outcome.notes
    assert leg(outcome, KERAS2_LEG).verdict == "agrees"


def test_hdf5_files_named_keras_are_read_as_hdf5(tmp_path):
    model = keras2_functional()
    model.save(tmp_path / "keras2.keras", save_format="h5")  # HDF5 whatever the name
    keras.utils.set_random_seed(0)
    x = keras.Input((3,), name="x")
    keras3 = keras.Model(x, keras.layers.Dense(2, name="head")(x))
    keras3.save(tmp_path / "keras3.h5")
    shutil.copyfile(tmp_path / "keras3.h5", tmp_path / "keras3.keras")
    assert by_hand_agrees(model) and by_hand_agrees(keras3)

    old = run_check(CheckOptions(model=str(tmp_path / "keras2.keras"), paths=KERAS2_LEG,
                                 report=None))
    assert (old.kind, old.start) == ("h5", "tf_keras")
    assert leg(old, KERAS2_LEG).verdict == "agrees"
    new = run_check(CheckOptions(model=str(tmp_path / "keras3.keras"), paths="keras>tf2onnx",
                                 report=None))
    assert (new.kind, new.start) == ("h5", "keras")
    assert leg(new, "keras>tf2onnx").verdict == "agrees"


def test_a_keras3_zip_named_zip_is_read_by_keras3(tmp_path):
    keras.utils.set_random_seed(0)
    x = keras.Input((3,), name="x")
    keras.Model(x, keras.layers.Dense(2, name="head")(x)).save(tmp_path / "model.keras")
    shutil.copyfile(tmp_path / "model.keras", tmp_path / "model.zip")
    outcome = run_check(CheckOptions(model=str(tmp_path / "model.zip"), paths="keras>tf2onnx",
                                     report=None))
    assert (outcome.kind, outcome.start) == ("keras", "keras")
    assert leg(outcome, "keras>tf2onnx").verdict == "agrees"


def _without_modules(config):
    """A config as Keras 2.1 wrote it: no ``module`` or ``registered_name`` anywhere."""
    if isinstance(config, dict):
        return {key: _without_modules(value) for key, value in config.items()
                if key not in ("module", "registered_name", "build_config")}
    if isinstance(config, list):
        return [_without_modules(value) for value in config]
    return config


def test_a_bare_list_sequential_json_is_read_by_tf_keras(tmp_path):
    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    model = tf_keras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,),
                                              name="d1"), layers.Dense(2, name="d2")])
    model.save_weights(tmp_path / "weights.h5")
    written = json.loads(model.to_json())["config"]["layers"]
    bare = {"class_name": "Sequential", "keras_version": "2.1.6", "backend": "tensorflow",
            "config": _without_modules([layer for layer in written
                                        if layer["class_name"] != "InputLayer"])}
    (tmp_path / "arch.json").write_text(json.dumps(bare))
    legacy = tf_keras.models.model_from_json(json.dumps(bare))
    legacy.load_weights(tmp_path / "weights.h5")
    assert by_hand_agrees(legacy)

    outcome = run_check(CheckOptions(model=str(tmp_path / "arch.json"),
                                     weights=str(tmp_path / "weights.h5"), paths=KERAS2_LEG,
                                     report=None))
    assert "written by Keras 2 (keras_version 2.1.6, backend tensorflow): read by tf_keras" \
        in outcome.notes
    assert leg(outcome, KERAS2_LEG).verdict == "agrees"
