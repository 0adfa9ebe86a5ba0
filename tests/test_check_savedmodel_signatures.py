"""SavedModels by their signatures (issue 48), on folders written here by TensorFlow as their
users write them: tf_keras' ``model.save(dir)`` (a Keras-2 SavedModel with its
``serving_default``, as TF 2.10 wrote it), ``tf.saved_model.save`` with a signature, with
two and none the default, and without any (a callable root). Every SavedModel leg uses the
one signature chosen; a stage that cannot apply is "not applicable", never a failure."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
pytest.importorskip("tf_keras")
pytest.importorskip("onnx2torch")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

import onnx  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from harness.check import CheckError, CheckOptions, run_check  # noqa: E402
from harness.check.render import text  # noqa: E402
from harness.converters import (  # noqa: E402
    Artifact,
    ConvertOptions,
    NotApplicable,
    register,
    unregister,
)

SAVEDMODEL_LEGS = "savedmodel>tf2onnx-savedmodel>onnx2torch,savedmodel>tflite-savedmodel"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    import tensorflow as tf
    import tf_keras

    root = tmp_path_factory.mktemp("savedmodels")
    tf_keras.utils.set_random_seed(0)
    keras2 = tf_keras.Sequential([
        tf_keras.layers.Dense(4, activation="relu", input_shape=(6,), name="hidden"),
        tf_keras.layers.Dense(3, name="scores")])
    keras2.save(str(root / "keras2"), save_format="tf")

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).normal(size=(4, 3)).astype("float32"))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.matmul(x, self.w)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def double(self, x):
            return {"z": 2.0 * tf.matmul(x, self.w)}

    affine = Affine()
    tf.saved_model.save(affine, str(root / "signed"),
                        signatures={"serving_default": affine.__call__})
    tf.saved_model.save(affine, str(root / "unsigned"))
    tf.saved_model.save(affine, str(root / "two"),
                        signatures={"affine": affine.__call__, "double": affine.double})
    return root


def check(model, **options):
    return run_check(CheckOptions(model=str(model), report=None, diagnose=False, **options))


def test_a_keras2_savedmodel_exits_0_down_its_savedmodel_legs(folders):
    outcome = check(folders / "keras2", paths=f"tf_keras>tf2onnx-keras2,{SAVEDMODEL_LEGS}")
    assert outcome.exit_code == 0, text(outcome)
    assert {row.leg: row.verdict for row in outcome.rows} == {
        "tf_keras>tf2onnx-keras2": "agrees", "savedmodel>tf2onnx-savedmodel": "agrees",
        "savedmodel>tf2onnx-savedmodel>onnx2torch": "agrees",
        "savedmodel>tflite-savedmodel": "agrees"}
    assert ("its SavedModel legs (savedmodel>...) read its 'serving_default' signature, as "
            "tf2onnx --saved-model and TFLiteConverter.from_saved_model do") in outcome.notes


def test_a_savedmodel_with_its_serving_default_signature_agrees(folders):
    outcome = check(folders / "signed")
    assert outcome.exit_code == 0, text(outcome)
    assert all(row.verdict == "agrees" for row in outcome.rows)
    assert any(row.leg == "savedmodel>tflite-savedmodel" for row in outcome.rows)
    assert outcome.notes[0].startswith("read by its 'serving_default' signature "
                                       "(x: float32[?x4] -> y)")


def test_a_callable_root_without_signatures_is_refused_with_how_to_save_it(folders):
    with pytest.raises(CheckError) as raised:
        check(folders / "unsigned")
    said = str(raised.value)
    assert "the SavedModel has no signatures; its root object is a callable tf.function, " \
           "__call__(x: float32[?x4])" in said
    assert "tf2onnx (--saved-model) and the TFLite converter (from_saved_model) read a " \
           "SavedModel by its signatures" in said
    assert "tf.saved_model.save(obj, DIR, signatures={'serving_default': obj.__call__})" in said


def test_several_signatures_none_the_default_are_named_and_one_is_picked(folders):
    with pytest.raises(CheckError, match="the SavedModel has 2 signatures and none is "
                                         "'serving_default' \\('affine', 'double'\\): name the "
                                         "one to check with --signature NAME"):
        check(folders / "two")
    outcome = check(folders / "two", signature="double", paths=SAVEDMODEL_LEGS)
    # 'affine' computes half of 'double': a leg that took another signature would differ.
    assert outcome.exit_code == 0, text(outcome)
    assert [row.verdict for row in outcome.rows] == ["agrees"] * 3
    assert outcome.notes[0].startswith("read by its 'double' signature (x: float32[?x4] -> z)")
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    import tensorflow as tf

    loaded = tf.saved_model.load(str(folders / "two"))
    halves = loaded.signatures["affine"](x=tf.constant(x))["y"].numpy()
    assert np.allclose(loaded.signatures["double"](x=tf.constant(x))["z"].numpy(), 2 * halves)
    with pytest.raises(CheckError, match="--signature nope: the SavedModel has no such "
                                         "signature \\(it has 'affine', 'double'\\)"):
        check(folders / "two", signature="nope")


class DoesNotApply:
    """A stage that cannot apply to any model it is given."""

    name = "onnx-check-not-applicable"
    source, target = "onnx", "onnx"
    packages = ("onnx",)

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        raise NotApplicable("the model has no signature this stage reads")


def test_a_stage_that_cannot_apply_is_not_applicable_and_leaves_the_exit_status(tmp_path):
    graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "neg",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), str(tmp_path / "neg.onnx"))
    register(DoesNotApply())
    try:
        outcome = check(tmp_path / "neg.onnx", paths="onnx>ort-optimized,"
                        "onnx>onnx-check-not-applicable>onnx2torch")
    finally:
        unregister(DoesNotApply.name)
    assert outcome.exit_code == 0
    verdicts = {row.leg: (row.verdict, row.message) for row in outcome.rows}
    assert verdicts["onnx>onnx-check-not-applicable"] == (
        "not applicable", "onnx-check-not-applicable does not apply: the model has no "
                          "signature this stage reads")
    assert verdicts["onnx>onnx-check-not-applicable>onnx2torch"][0] == "not applicable"
    assert text(outcome).splitlines()[-1].startswith(
        "parity check: every leg that applies agrees (2 not applicable)")
