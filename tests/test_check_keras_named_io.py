"""A Keras 3 model whose inputs and outputs are dicts, named as its author named them
(``keras.Model({"b": b, "a": a}, {"sum": ..., "neg": ...})``): every leg that reads it back
takes the named structure, not a list.

parity called such a model's SavedModel ``serve`` with a list ("Binding inputs to tf.function
failed"), named its TFLite signature's outputs ``output_0, ...`` where the converter names them
by the dict's keys ("they cannot be mapped by name"), and its torch-backend worker saved the
returned dict as one object array ("Object arrays cannot be loaded when allow_pickle=False"):
three errors of parity's own on a model every leg converts right. The inputs are declared
in another order than their sorted names, and every input and output has a shape of its own,
so an input or output taken in the wrong order fails rather than agrees.
"""

from __future__ import annotations

import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import keras  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402

LEGS = ("keras>tf2onnx", "keras>keras-onnx", "keras>keras-torch", "keras>tflite", "keras>savedmodel",
        "keras>savedmodel>tflite-savedmodel")


def named_model(order: str):
    """Inputs a (3,) and b (2,) declared in ``order``; outputs sum (4,) and neg (1,)."""
    inputs = {name: keras.Input((3,) if name == "a" else (2,), name=name) for name in order}
    joined = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    return keras.Model(inputs, {"sum": keras.layers.Dense(4, name="sum")(joined),
                                "neg": keras.layers.Dense(1, name="neg")(inputs["a"])})


def checked(tmp_path, order: str):
    path = tmp_path / f"named_{order}.keras"
    named_model(order).save(path)
    outcome = run_check(CheckOptions(model=path, paths=",".join(LEGS), report=None))
    rows = {row.leg: row for row in outcome.rows}
    assert set(rows) == set(LEGS)
    return outcome, rows


def test_every_leg_of_a_model_with_named_inputs_and_outputs_agrees(tmp_path):
    outcome, rows = checked(tmp_path, "ab")
    for leg in LEGS:
        assert rows[leg].verdict == "agrees", (leg, rows[leg].message)
    assert outcome.exit_code == 0


def test_inputs_declared_out_of_name_order_are_fed_by_name(tmp_path):
    """Keras 3 refuses a list for inputs declared {"b": ..., "a": ...}; parity feeds the
    dict. TensorFlow's TFLiteConverter.from_keras_model refuses that model by hand too
    ("TypeError: 'NoneType' object is not callable", TensorFlow 2.21), while its SavedModel
    converts: the tflite leg's error is the converter's, the others agree."""
    outcome, rows = checked(tmp_path, "ba")
    for leg in LEGS:
        if leg == "keras>tflite":
            assert rows[leg].verdict == "error"
            assert "TFLiteConverter refused the model" in rows[leg].message
        else:
            assert rows[leg].verdict == "agrees", (leg, rows[leg].message)


def test_a_keras2_h5_with_named_inputs_and_outputs_agrees(tmp_path):
    """tf_keras' reading took the returned dict as one output ("the leg produced 2 outputs,
    the source 1" on every leg) and fed a list; both named now, as for Keras 3."""
    tf_keras = pytest.importorskip("tf_keras")
    b = tf_keras.Input((2,), name="b")
    a = tf_keras.Input((3,), name="a")
    joined = tf_keras.layers.Concatenate()([a, b])
    model = tf_keras.Model({"b": b, "a": a},
                           {"sum": tf_keras.layers.Dense(4, name="sum")(joined),
                            "neg": tf_keras.layers.Dense(1, name="neg")(a)})
    path = tmp_path / "named.h5"
    model.save(path, save_format="h5")
    outcome = run_check(CheckOptions(model=path, paths="tf_keras>tf2onnx-keras2",
                                     report=None))
    (row,) = outcome.rows
    assert row.verdict == "agrees", row.message
    assert outcome.exit_code == 0


def test_a_reproducer_script_calls_a_named_model_as_parity_does():
    """The Keras reading ``--script`` writes into a reproducer called the model with a list,
    which Keras 3 refuses for inputs declared out of their names' order, and read a dict of
    outputs as one; it now reads it as ``harness.runtimes.keras.run_keras`` does."""
    import numpy as np

    from harness.repro_script import KERAS_READING_CODE
    from harness.runtimes.keras import run_keras

    model = named_model("ba")
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(4, 3)).astype("float32"),  # a, b: model.inputs' order
              rng.normal(size=(4, 2)).astype("float32")]
    script: dict = {"np": np, "gist": str}
    exec(KERAS_READING_CODE, script)  # noqa: S102 (parity's own template)
    read = script["keras_reading"](model, inputs)
    assert [x.shape for x in read] == [(4, 1), (4, 4)]  # neg, sum: sorted by name
    for got, expected in zip(read, run_keras(model, inputs), strict=True):
        np.testing.assert_array_equal(got, expected)
