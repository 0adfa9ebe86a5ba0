"""``parity check`` on Keras files, each read by the Keras that wrote it and checked on the
path its users take, every leg's verdict repeated here by hand with the converters
themselves on the same inputs:

- Keras-2 files written by tf_keras (a whole-model ``.h5``, an architecture JSON with its
  weights, a SavedModel with tf_keras' metadata): tf2onnx's ``from_keras`` on the model
  tf_keras loads (``tf_keras>tf2onnx-keras2``), and for the SavedModel
  ``python -m tf2onnx.convert --saved-model DIR`` (``savedmodel>tf2onnx-savedmodel``);
- a Keras 3 ``.h5`` (``model.save("x.h5")`` in Keras 3), which tf_keras cannot read;
- the legs through Keras 3 (``tf_keras>keras3>...``), reported apart from the exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
onnx2torch = pytest.importorskip("onnx2torch")
tf2onnx = pytest.importorskip("tf2onnx")

import keras  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from harness import golden  # noqa: E402
from harness.check import CheckOptions, render, run_check  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.keras_files import keras2_sequential  # noqa: E402

SHAPE = (8, 8, 3)
ATOL, RTOL = 1e-4, 1e-3  # parity check's rule for a user's file (harness.check.FILE_ATOL)
OPSET = 17


def keras2_two_heads():
    """Two inputs and two outputs whose names sort against the model's order: a
    SavedModel's signature takes and returns them by name, tf_keras in the model's order."""
    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    image = tf_keras.Input(SHAPE, name="image")
    extra = tf_keras.Input((2,), name="aux")
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(image))
    x = layers.Concatenate()([x, extra])
    return tf_keras.Model([image, extra], [layers.Dense(5, name="zeta")(x),
                                           layers.Dense(2, name="alpha")(x)])


def keras3_functional():
    keras.utils.set_random_seed(0)
    image = keras.Input(SHAPE, name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(image)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(image, keras.layers.Dense(10, name="dense")(x), name="small")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Each file as its own tool writes it, and the inputs every check here runs on."""
    folder = tmp_path_factory.mktemp("keras2")
    old = keras2_sequential(SHAPE, conv="conv")
    old.save(folder / "model.h5", save_format="h5")
    (folder / "arch.json").write_text(old.to_json())
    old.save_weights(folder / "weights.h5")
    old.save(str(folder / "saved"), save_format="tf")
    keras2_two_heads().save(str(folder / "heads"), save_format="tf")
    keras3_functional().save(folder / "keras3.h5")
    x = np.random.default_rng(1).normal(size=(3, *SHAPE)).astype(np.float32)
    np.savez(folder / "inputs.npz", x)
    np.savez(folder / "heads.npz", x, np.random.default_rng(2).normal(size=(3, 2)).astype(
        np.float32))
    return folder


def check(written, model, *paths, weights=None, inputs="inputs.npz"):
    return run_check(CheckOptions(model=str(model), weights=weights, report=None,
                                  inputs=str(written / inputs), paths=",".join(paths) or None))


def inputs(written) -> np.ndarray:
    return np.load(written / "inputs.npz")["arr_0"]


# -- by hand -----------------------------------------------------------------------------------

def from_keras(model):
    """tf2onnx as a Keras user calls it."""
    spec = [tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name="x")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    return proto


def onnxruntime(proto, x, optimized=False) -> np.ndarray:
    options = ort.SessionOptions()
    if not optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def torch_module(proto, x) -> np.ndarray:
    with torch.inference_mode():
        return onnx2torch.convert(proto).eval()(torch.from_numpy(x)).numpy()


def by_hand(proto, x) -> dict[str, np.ndarray]:
    """An ONNX model's legs, by the suffix they add to the leg that made it."""
    return {"": onnxruntime(proto, x), ">onnx2torch": torch_module(proto, x),
            ">ort-optimized": onnxruntime(proto, x, optimized=True)}


def assert_leg_matches(row, outputs, reference) -> None:
    """The check's verdict and error for a leg are those of the same conversion by hand
    (an array, or a list of them for a model with several outputs)."""
    pairs = list(zip(outputs, reference)) if isinstance(outputs, list) else [(outputs,
                                                                               reference)]
    error = max(float(np.abs(y - r).max()) for y, r in pairs)
    within = all(bool(np.all(np.abs(y - r) <= ATOL + RTOL * np.abs(r))) for y, r in pairs)
    assert row.verdict == ("agrees" if within else "differs"), (row.leg, row.message)
    assert row.max_abs == pytest.approx(error, abs=1e-7), row.leg


def rows_of(outcome) -> dict:
    return {row.leg: row for row in outcome.rows}


# -- recognised by what wrote them -----------------------------------------------------------

def test_each_file_names_the_keras_that_wrote_it(written):
    assert files.detect(written / "model.h5") == files.detect(written / "keras3.h5") == "h5"
    assert files.h5_writer(written / "model.h5").keras == "tf_keras"
    third = files.h5_writer(written / "keras3.h5")
    assert third.keras == "keras" and third.version.startswith("3.")
    assert third.version == keras.__version__ and third.backend == keras.backend.backend()
    assert files.savedmodel_writer(written / "saved").keras == "tf_keras"
    config = json.loads((written / "arch.json").read_text())
    assert files.json_writer(written / "arch.json", config).keras == "tf_keras"
    assert files.load(written / "model.h5").start == "tf_keras"
    assert files.load(written / "keras3.h5").start == "keras"


def test_a_keras3_h5_is_read_by_keras3(written):
    with pytest.raises(TypeError, match="batch_shape"):  # where parity sent it: tf_keras
        tf_keras.models.load_model(str(written / "keras3.h5"), compile=False)
    outcome = check(written, written / "keras3.h5", "keras>tf2onnx>onnx2torch",
                    "keras>tf2onnx>ort-optimized")
    assert outcome.start == "keras" and outcome.description.startswith("a Keras 3 HDF5 model")
    assert outcome.notes[0].startswith("written by Keras 3 (keras_version 3.")
    x = inputs(written)
    model = keras.models.load_model(written / "keras3.h5", compile=False, safe_mode=True)
    reference = np.asarray(model(x))
    hand = by_hand(from_keras(model), x)
    rows = rows_of(outcome)
    assert set(rows) == {f"keras>tf2onnx{suffix}" for suffix in hand}
    for suffix, outputs in hand.items():
        assert_leg_matches(rows[f"keras>tf2onnx{suffix}"], outputs, reference)
    assert outcome.exit_code == 0


def test_a_keras3_architecture_json_is_refused_with_what_to_do(capsys, tmp_path):
    (tmp_path / "arch3.json").write_text(keras3_functional().to_json())
    (tmp_path / "w.h5").write_bytes(b"")
    assert main(["check", str(tmp_path / "arch3.json"), "--weights", str(tmp_path / "w.h5"),
                 "-q", "--report", "none"]) == 2
    err = capsys.readouterr().err
    assert "a Keras 3 architecture JSON" in err and "model.save('model.keras')" in err
    assert err.count("\n") == 1


# -- Keras-2 files: the path their users take --------------------------------------------------

def test_a_keras2_h5_checked_on_every_default_path(written):
    """The whole default run: exit 0 when tf2onnx converts the tf_keras model right, the legs
    through Keras 3 reported apart (tf2onnx cannot convert a Keras 3 Sequential there)."""
    outcome = check(written, written / "model.h5")
    x = inputs(written)
    legacy = tf_keras.models.load_model(str(written / "model.h5"), compile=False)
    reference = legacy(x, training=False).numpy()
    rows = rows_of(outcome)
    hand = by_hand(from_keras(legacy), x)
    for suffix, outputs in hand.items():
        row = rows[f"tf_keras>tf2onnx-keras2{suffix}"]
        assert not row.migration
        assert_leg_matches(row, outputs, reference)
    assert rows["tf_keras>tf2onnx-keras2>onnx2pytorch"].verdict == "agrees"
    assert outcome.exit_code == 0

    moved = keras.models.load_model(written / "model.h5", compile=False, safe_mode=True)
    assert_leg_matches(rows["tf_keras>keras3"], np.asarray(moved(x)), reference)
    with pytest.raises(KeyError, match="keras_tensor"):  # tf2onnx#2448, by hand
        from_keras(moved)
    assert rows["tf_keras>keras3>tf2onnx"].verdict == "error"
    assert rows["tf_keras>keras3>tf2onnx>onnx2torch"].verdict == "not run"
    migration = [leg for leg, row in rows.items() if row.migration]
    assert migration == [leg for leg in rows if leg.startswith("tf_keras>keras3")]
    # the keras3 leg and the legs of a Keras 3 file's paths (TFLite's three among them)
    assert len(migration) == 1 + 11

    text = render.text(outcome)
    table, apart = text.split(render.MIGRATION_HEADING)
    assert "tf_keras>tf2onnx-keras2>onnx2torch" in table and "tf_keras>keras3" not in table
    assert "tf_keras>keras3>tf2onnx " in apart
    assert "parity check: every leg agrees" in text
    assert "after a move to Keras 3, 4 of 12 legs do not agree" in text
    payload = outcome.to_json()
    assert payload["exit_code"] == 0 and payload["reads_to"] == "tf_keras"
    assert sum(leg["migration"] for leg in payload["legs"]) == 12


def test_the_migration_legs_decide_only_when_named_alone(written):
    outcome = check(written, written / "model.h5", "tf_keras>keras3>tf2onnx")
    assert [(row.leg, row.verdict) for row in outcome.rows] == [
        ("tf_keras>keras3", "agrees"), ("tf_keras>keras3>tf2onnx", "error")]
    assert outcome.exit_code == 1


def test_an_architecture_json_with_weights(written):
    outcome = check(written, written / "arch.json", "tf_keras>tf2onnx-keras2>onnx2torch",
                    weights=str(written / "weights.h5"))
    assert outcome.start == "tf_keras"
    x = inputs(written)
    legacy = tf_keras.models.model_from_json((written / "arch.json").read_text())
    legacy.load_weights(str(written / "weights.h5"))
    reference = legacy(x, training=False).numpy()
    hand = by_hand(from_keras(legacy), x)
    rows = rows_of(outcome)
    assert set(rows) == {"tf_keras>tf2onnx-keras2", "tf_keras>tf2onnx-keras2>onnx2torch"}
    assert_leg_matches(rows["tf_keras>tf2onnx-keras2"], hand[""], reference)
    assert_leg_matches(rows["tf_keras>tf2onnx-keras2>onnx2torch"], hand[">onnx2torch"],
                       reference)
    assert outcome.exit_code == 0


def test_a_tf_keras_savedmodel_starts_at_tf_keras_and_at_its_folder(written, tmp_path):
    folder = written / "heads"
    outcome = check(written, folder, "tf_keras>tf2onnx-keras2",
                    "savedmodel>tf2onnx-savedmodel>onnx2torch", inputs="heads.npz")
    assert outcome.start == "tf_keras"
    feed = dict(np.load(written / "heads.npz"))
    x = [feed["arr_0"], feed["arr_1"]]
    legacy = tf_keras.models.load_model(str(folder), compile=False)
    names = legacy.output_names
    assert names == ["zeta", "alpha"] and legacy.input_names == ["image", "aux"]
    reference = [y.numpy() for y in legacy(x, training=False)]
    by_input = dict(zip(legacy.input_names, x))
    # tf2onnx's first documented command, as a user types it; its outputs fetched by name.
    converted = tmp_path / "heads.onnx"
    done = subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(folder),
                           "--output", str(converted), "--opset", str(OPSET)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    import onnx

    cli = onnx.load(str(converted))
    # onnx stamps IR 14 on what it builds, above what onnxruntime reads here (DESIGN.md).
    cli.ir_version = min(cli.ir_version, 10)
    listed = [output.name for output in cli.graph.output]
    assert sorted(listed) == sorted(names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(cli.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    by_ort = session.run(names, by_input)
    with torch.inference_mode():
        returned = onnx2torch.convert(cli).eval()(
            *[torch.from_numpy(by_input[i.name]) for i in cli.graph.input])
    by_torch = [returned[listed.index(name)].numpy() for name in names]
    spec = [tf.TensorSpec((None, *t.shape[1:]), tf.float32, name=n)
            for t, n in zip(legacy.inputs, legacy.input_names)]
    keras2, _ = tf2onnx.convert.from_keras(legacy, input_signature=spec, opset=OPSET)
    session = ort.InferenceSession(keras2.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    by_from_keras = session.run([o.name for o in keras2.graph.output], by_input)
    rows = rows_of(outcome)
    assert set(rows) == {"tf_keras>tf2onnx-keras2", "savedmodel>tf2onnx-savedmodel",
                         "savedmodel>tf2onnx-savedmodel>onnx2torch"}
    assert_leg_matches(rows["tf_keras>tf2onnx-keras2"], by_from_keras, reference)
    assert_leg_matches(rows["savedmodel>tf2onnx-savedmodel"], by_ort, reference)
    assert_leg_matches(rows["savedmodel>tf2onnx-savedmodel>onnx2torch"], by_torch, reference)
    assert outcome.exit_code == 0


def test_a_pinned_keras2_file_replays_on_its_own_paths(written, tmp_path):
    root = tmp_path / "golden"
    options = CheckOptions(model=str(written / "model.h5"), report=None, pin="old",
                           golden=str(root), paths="tf_keras>tf2onnx-keras2>onnx2torch")
    outcome = run_check(options)
    assert outcome.exit_code == 0 and outcome.pinned["onnx_error"] is None
    case = golden.load_case(golden.read_manifest(root), outcome.pinned["case_id"])
    stored = case.stored_artifacts()
    assert list(stored) == ["tf_keras>tf2onnx-keras2"]
    from harness.run.pipeline import Harness

    # The suite's own default paths name none of a Keras-2 file's: its replay takes the
    # file's default paths from where the stored ONNX starts (the migration legs stop there).
    result = case.replay(Harness())
    assert {leg.leg: leg.verdict for leg in result.legs} == {
        "tf_keras>tf2onnx-keras2": "pass", "tf_keras>tf2onnx-keras2>onnx2torch": "pass",
        "tf_keras>tf2onnx-keras2>onnx2pytorch": "pass",
        "tf_keras>tf2onnx-keras2>ort-optimized": "pass"}
