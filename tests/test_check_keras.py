"""``parity check MODEL`` on Keras files written the way their tools write them: Keras 3's
``.keras``, tf_keras (Keras 2) whole-model ``.h5`` (also in Keras 2.2.4's form, whose first
layer carries ``batch_input_shape``), an architecture ``.json`` with a weights ``.h5``, a
SavedModel from Keras 3's ``model.export`` and one from tf_keras with its Keras metadata."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
pytest.importorskip("onnx2torch")

import keras  # noqa: E402

from harness import golden  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.check_cli import PLUGIN, check_json  # noqa: E402
from tests.keras_files import keras2_sequential, keras3_small  # noqa: E402

SHAPE = (12, 12, 3)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every Keras format, each written by the tool that writes it."""
    folder = tmp_path_factory.mktemp("keras")
    new = keras3_small(SHAPE, activation="softmax")
    new.save(folder / "model.keras")
    new.export(str(folder / "exported"), format="tf_saved_model", verbose=False)
    old = keras2_sequential(SHAPE, units=12)
    old.save(folder / "model.h5", save_format="h5")
    (folder / "arch.json").write_text(old.to_json())
    old.save_weights(folder / "weights.h5")
    old.save(str(folder / "tf_keras_savedmodel"), save_format="tf")
    # Keras 2.2.4 wrote no InputLayer: the first layer carried batch_input_shape.
    import h5py

    shutil.copy(folder / "model.h5", folder / "keras224.h5")
    with h5py.File(folder / "keras224.h5", "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        layers = config["config"]["layers"]
        first = layers.pop(0)
        assert first["class_name"] == "InputLayer"
        layers[0]["config"]["batch_input_shape"] = first["config"]["batch_input_shape"]
        handle.attrs["model_config"] = json.dumps(config)
    return folder


def verdicts(payload) -> dict[str, str]:
    return {leg["leg"]: leg["verdict"] for leg in payload["legs"]}


def test_formats_of_keras_files(written):
    assert files.detect(written / "model.keras") == "keras"
    assert files.detect(written / "model.h5") == "h5"
    assert files.detect(written / "arch.json", written / "weights.h5") == "keras-json"
    assert files.detect(written / "exported") == "savedmodel"
    assert files.detect(written / "tf_keras_savedmodel") == "savedmodel"
    renamed = written / "model.zip"
    shutil.copy(written / "model.keras", renamed)
    assert files.detect(renamed) == "keras"


def test_a_keras3_file_agrees(capsys, written):
    code, payload = check_json(capsys, written / "model.keras",
                               "--paths", "keras>tf2onnx>onnx2torch")
    assert code == 0, payload
    assert verdicts(payload) == {"keras>tf2onnx": "agrees", "keras>tf2onnx>onnx2torch": "agrees"}
    assert payload["sizes"] == [[[4, 12, 12, 3]], [[1, 12, 12, 3]]]  # the batch is free
    assert payload["legs"][0]["task"]["top1"] == 1.0
    # Judged against the float64 yardstick too, at both sizes (harness.core.yardstick).
    for leg in payload["legs"]:
        assert leg["yardstick"]["ratio"] <= 10 and leg["yardstick_missing"] is None, leg
        assert leg["judged_by"] == "tolerance"


def test_a_faulty_stage_names_the_diverging_layer(capsys, written, check_plugin):
    code, payload = check_json(capsys, written / "model.keras", "--paths",
                               "keras>tf2onnx-check-fault>onnx2torch", "--plugins", PLUGIN)
    assert code == 1
    rows = {leg["leg"]: leg for leg in payload["legs"]}
    fault = rows["keras>tf2onnx-check-fault"]
    downstream = rows["keras>tf2onnx-check-fault>onnx2torch"]
    assert fault["verdict"] == "differs"
    assert fault["where"] == "conv_b (Conv2D), stage tf2onnx-check-fault"
    assert "alone, the layer diverges too" in fault["note"]
    assert downstream["verdict"] == "differs" and downstream["blame"] == "tf2onnx-check-fault"


def test_a_keras2_h5_is_read_by_tf_keras_and_checked(capsys, written):
    code, payload = check_json(capsys, written / "model.h5", "--paths",
                               "tf_keras>tf2onnx-keras2,tf_keras>keras3>tf2onnx,"
                               "tf_keras>keras3>keras-onnx")
    assert payload["reads_to"] == "tf_keras"
    rows = {leg["leg"]: leg for leg in payload["legs"]}
    # tf2onnx on the model tf_keras reads, as its Keras-2 users run it.
    assert rows["tf_keras>tf2onnx-keras2"]["verdict"] == "agrees"
    # Keras 3's reading of the file against tf_keras', the framework that wrote it.
    assert rows["tf_keras>keras3"]["verdict"] == "agrees"
    # A tf_keras Sequential stays a Sequential in Keras 3, which tf2onnx cannot convert
    # (a KeyError in tf2onnx): a migration leg, reported apart.
    assert rows["tf_keras>keras3>tf2onnx"]["verdict"] == "error"
    assert "KeyError: 'keras_tensor" in rows["tf_keras>keras3>tf2onnx"]["message"]
    assert rows["tf_keras>keras3>keras-onnx"]["verdict"] == "agrees"
    assert [leg for leg, row in rows.items() if row["migration"]] == [
        "tf_keras>keras3", "tf_keras>keras3>tf2onnx", "tf_keras>keras3>keras-onnx"]
    assert code == 0


def test_a_keras_224_h5_that_keras3_misreads_is_checked(capsys, written):
    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    with pytest.raises(SavedFormatError):
        load_keras_file(written / "keras224.h5")  # what a Keras 3 user meets today
    code, payload = check_json(capsys, written / "keras224.h5", "--paths",
                               "tf_keras>tf2onnx-keras2,tf_keras>keras3>keras-onnx")
    assert code == 0 and verdicts(payload) == {
        "tf_keras>tf2onnx-keras2": "agrees", "tf_keras>keras3": "agrees",
        "tf_keras>keras3>keras-onnx": "agrees"}


def test_an_architecture_json_with_weights(capsys, written):
    code, payload = check_json(capsys, written / "arch.json", "--weights", written / "weights.h5",
                               "--paths", "tf_keras>keras3>keras-onnx")
    assert code == 0 and verdicts(payload) == {"tf_keras>keras3": "agrees",
                                               "tf_keras>keras3>keras-onnx": "agrees"}
    assert payload["description"].startswith("a Keras-2 architecture with its weights")


def test_a_savedmodel_without_keras_metadata_starts_at_savedmodel(capsys, written):
    code, payload = check_json(capsys, written / "exported", "--paths",
                               "savedmodel>tf2onnx-savedmodel>onnx2pytorch")
    assert payload["reads_to"] == "savedmodel"
    assert code == 0 and verdicts(payload) == {
        "savedmodel>tf2onnx-savedmodel": "agrees",
        "savedmodel>tf2onnx-savedmodel>onnx2pytorch": "agrees"}


def test_a_tf_keras_savedmodel_reads_to_tf_keras(capsys, written):
    code, payload = check_json(capsys, written / "tf_keras_savedmodel", "--paths",
                               "tf_keras>keras3>keras-onnx")
    assert payload["reads_to"] == "tf_keras" and code == 0
    assert verdicts(payload) == {"tf_keras>keras3": "agrees",
                                 "tf_keras>keras3>keras-onnx": "agrees"}


def test_code_in_a_file_is_never_loaded(capsys, tmp_path):
    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x + 1)(inputs)).save(tmp_path / "l.keras")
    assert main(["check", str(tmp_path / "l.keras"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is a Lambda layer" in err and err.count("\n") == 1

    legacy = tf_keras.Sequential([tf_keras.layers.Lambda(lambda x: x * 2, input_shape=(3,))])
    legacy.save(tmp_path / "l.h5", save_format="h5")
    assert main(["check", str(tmp_path / "l.h5"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is a Lambda layer: its code travels as Python bytecode" in err


@keras.saving.register_keras_serializable(package="checktest")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_a_custom_layer_needs_its_definition(capsys, tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, Doubler(name="doubler")(keras.layers.Dense(3)(inputs)))
    model.save(tmp_path / "custom.keras")
    known = keras.saving.get_custom_objects()
    definition = known.pop("checktest>Doubler")
    try:
        assert main(["check", str(tmp_path / "custom.keras"), "-q"]) == 2
        err = capsys.readouterr().err
        assert "1 custom class has no definition here: 'checktest>Doubler' (layer 'doubler')" in err
        assert "--plugins MODULE" in err
    finally:
        known["checktest>Doubler"] = definition
    code, payload = check_json(capsys, tmp_path / "custom.keras", "--paths", "keras>tf2onnx")
    assert code == 0


def test_pin_a_keras_file_and_replay_it_without_tensorflow(capsys, written, tmp_path):
    root = tmp_path / "golden"
    code, payload = check_json(capsys, written / "model.keras",
                               "--paths", "keras>tf2onnx>onnx2torch",
                               "--pin", "small", "--golden", root)
    assert code == 0
    case_id = payload["pinned"]["case_id"]
    store = golden.read_manifest(root)
    assert {"model.onnx", "source/model.keras"} <= set(store.cases[case_id])
    case = golden.load_case(store, case_id)
    stored = case.stored_artifacts()
    assert list(stored) == ["keras>tf2onnx"]
    from harness.run.pipeline import Harness

    result = Harness("keras>tf2onnx>onnx2torch,keras>tf2onnx>onnx2pytorch").replay(
        case.spec, case.inputs, case.expected, stored, case.native)
    assert {leg.leg: leg.verdict for leg in result.legs} == {
        "keras>tf2onnx": "pass", "keras>tf2onnx>onnx2torch": "pass",
        "keras>tf2onnx>onnx2pytorch": "pass"}


@pytest.mark.slow
def test_every_default_leg_of_a_keras3_file(capsys, written):
    code, payload = check_json(capsys, written / "model.keras")
    assert verdicts(payload) == {
        "keras>tf2onnx": "agrees", "keras>tf2onnx>onnx2torch": "agrees",
        "keras>tf2onnx>onnx2pytorch": "agrees", "keras>keras-onnx": "agrees",
        "keras>keras-onnx>onnx2torch": "agrees", "keras>keras-onnx>onnx2pytorch": "agrees",
        "keras>keras-torch": "agrees", "keras>tf2onnx>ort-optimized": "agrees",
        # Keras → TFLite both ways, run by LiteRT (docs/rewriters.md)
        "keras>tflite": "agrees", "keras>savedmodel": "agrees",
        "keras>savedmodel>tflite-savedmodel": "agrees"}
    assert code == 0


def test_free_spatial_dimensions_meet_onnx2torchs_missing_same_padding(capsys, tmp_path):
    keras.utils.set_random_seed(0)
    image = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(image)
    keras.Model(image, keras.layers.Conv2D(3, 1, name="out")(x)).save(tmp_path / "fcn.keras")
    code, payload = check_json(capsys, tmp_path / "fcn.keras", "--paths",
                               "keras>tf2onnx>onnx2torch,keras>tf2onnx>onnx2pytorch")
    rows = {leg["leg"]: leg for leg in payload["legs"]}
    assert payload["sizes"] == [[[4, 64, 64, 3]], [[1, 96, 96, 3]]]
    # With free spatial sizes tf2onnx writes auto_pad SAME_UPPER, which onnx2torch lacks.
    assert rows["keras>tf2onnx>onnx2torch"]["verdict"] == "unsupported"
    assert rows["keras>tf2onnx>onnx2pytorch"]["verdict"] == "agrees"
    assert float(rows["keras>tf2onnx>onnx2pytorch"]["task"]["psnr_db"]) > 100  # "inf" too
    assert code == 1
