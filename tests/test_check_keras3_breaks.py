"""Keras-3 migration messages (issue 48): a Teachable-Machine-shaped Keras-2 ``.h5`` (a
Functional model with a DepthwiseConv2D nested in a Sequential, written by tf_keras) moved
into Keras 3 is told what Keras 3 cannot read, the break the file hits first, and no class
Keras itself defines is ever offered as a custom object to register."""

from __future__ import annotations

import pytest

pytest.importorskip("tf_keras")
pytest.importorskip("tf2onnx")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.converters.keras3_breaks import builtin, keras3_break  # noqa: E402
from harness.converters.saved_formats import unregistered_object  # noqa: E402


@pytest.fixture(scope="module")
def teachable(tmp_path_factory):
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    image = tf_keras.Input((16, 16, 3))
    x = tf_keras.layers.Conv2D(4, 3, padding="same", name="conv")(image)
    x = tf_keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    base = tf_keras.Model(image, tf_keras.layers.GlobalAveragePooling2D()(x), name="model1")
    model = tf_keras.Sequential([base, tf_keras.layers.Dense(2, activation="softmax",
                                                             name="head")])
    model.build((None, 16, 16, 3))
    path = tmp_path_factory.mktemp("teachable") / "keras_model.h5"
    model.save(str(path), save_format="h5")
    return path


def test_a_teachable_machine_h5_gets_its_own_break_and_no_builtin_as_custom(teachable):
    outcome = run_check(CheckOptions(model=str(teachable), report=None, diagnose=False,
                                     paths="tf_keras>tf2onnx-keras2,tf_keras>keras3"))
    assert outcome.exit_code == 0  # the user's own path agrees; the move is reported apart
    rows = {row.leg: row for row in outcome.rows}
    assert rows["tf_keras>tf2onnx-keras2"].verdict == "agrees"
    moved = rows["tf_keras>keras3"]
    assert moved.migration and moved.verdict == "error"
    assert (moved.known_issue or {}).get("id") == "keras-legacy-h5-keras2-only-arguments"
    assert ("Keras 3 cannot read this Keras-2 model: its DepthwiseConv2D 'depthwise' carries "
            "'groups', an argument of Keras 2's DepthwiseConv2D that Keras 3's does not take"
            in moved.message)
    for builtin_name in ("Functional", "Sequential", "DepthwiseConv2D"):
        assert f"{{{builtin_name!r}: ...}}" not in moved.message
    assert "--custom-objects" not in moved.message


def test_the_innermost_break_comes_first_and_a_nested_functional_is_named_as_such():
    nested = ("Could not locate class 'Functional'. Make sure custom classes are decorated "
              "with `@keras.saving.register_keras_serializable()`.\n\nException encountered: "
              "Error when deserializing class 'DepthwiseConv2D' using config={'name': "
              "'conv_dw_1', 'groups': 1}.\n\nException encountered: Unrecognized keyword "
              "arguments passed to DepthwiseConv2D: {'groups': 1}")
    said = keras3_break(nested)
    assert said.startswith("Keras 3 cannot read this Keras-2 model: its DepthwiseConv2D "
                           "'conv_dw_1' carries 'groups'")
    assert "then, around it, the Functional model that holds it" in said
    alone = keras3_break("Could not locate class 'Functional'. Make sure custom classes ...")
    assert "it nests a Functional model as Keras 2 wrote it" in alone
    assert "not a custom object to register" in alone


def test_only_classes_keras_does_not_define_are_offered_as_custom_objects():
    assert builtin("Functional") and builtin("Sequential") and builtin("DepthwiseConv2D")
    assert not builtin("TeachableNormalization")
    assert unregistered_object("Could not locate class 'Functional'.") is None
    assert unregistered_object("Could not locate class 'Sequential'.") is None
    assert unregistered_object("Could not locate class 'TeachableNormalization'.") == (
        "class", "TeachableNormalization")
    assert keras3_break("Could not locate class 'TeachableNormalization'.") is None
