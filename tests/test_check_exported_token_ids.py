"""Token ids in files that keep no Keras metadata, as their writers write them: a Keras 3
text model's ``model.export`` SavedModel, the TFLite file ``TFLiteConverter.from_saved_model``
makes of it, and the ONNX file ``python -m tf2onnx.convert --saved-model`` makes of it. Each
gathers its ids from an embedding table behind Keras 3's negative-index wrap (a select in TF
and TFLite, Mul and Add over Not(Less) after tf2onnx): each id input is drawn below its
table's size, as a user feeds a tokenizer's ids, never below 2 (which tried two rows of a
1,000-row table) nor below TFLite's 128 (which the 2-row segment table refused); ids a
decoder shifts behind a start id (a slice, a join to a constant, a transpose) too."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_litert")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.sources.file import case_inputs, file_specs  # noqa: E402
from harness.sources.file.domains import IndexNode, index_domain  # noqa: E402
from harness.sources.file.tflite import _gather_axes  # noqa: E402

VOCAB, SEGMENTS = 1000, 2
TOKENS = "token_ids: indices in [0, 1000) (feeds "
SEGMENT_IDS = "segment_ids: indices in [0, 2) (feeds "


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The three files, and the Keras model they were written from."""
    folder = tmp_path_factory.mktemp("exported")
    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    segments = keras.Input((None,), dtype="int32", name="segment_ids")
    h = (keras.layers.Embedding(VOCAB, 8, name="tokens")(ids)
         + keras.layers.Embedding(SEGMENTS, 8, name="segments")(segments))
    model = keras.Model([ids, segments], keras.layers.Dense(3)(
        keras.layers.GlobalAveragePooling1D()(h)))
    model.export(str(folder / "text"), verbose=False)
    tflite = tf.lite.TFLiteConverter.from_saved_model(str(folder / "text")).convert()
    (folder / "text.tflite").write_bytes(tflite)
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model",
                    str(folder / "text"), "--output", str(folder / "text.onnx"),
                    "--opset", "17"], check=True, capture_output=True)
    return folder, model


@pytest.mark.parametrize("name, feeds, paths", [
    ("text", "GatherV2 ", "savedmodel>tflite-savedmodel"),
    ("text.tflite", "GATHER ", "tflite>tf2onnx-tflite"),
    ("text.onnx", "Gather ", "onnx>ort-optimized"),
])
def test_each_id_input_is_drawn_below_its_own_table(exported, name, feeds, paths):
    folder, model = exported
    path = folder / name
    outcome = run_check(CheckOptions(model=str(path), paths=paths, report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {paths: "agrees"}
    assert any(n.startswith(TOKENS + feeds) for n in outcome.notes), outcome.notes
    assert any(n.startswith(SEGMENT_IDS + feeds) for n in outcome.notes), outcome.notes

    spec = file_specs(path)[0]
    names = spec.attrs["input_names"]
    drawn = dict(zip(names, case_inputs(spec)))
    tokens, segments = drawn["token_ids"], drawn["segment_ids"]
    assert tokens.min() >= 0 and 100 <= tokens.max() < VOCAB
    assert set(np.unique(segments)) == {0, 1}
    # By hand: the Keras model the file was written from, on the ids drawn.
    expected = model([tokens, segments], training=False).numpy()
    assert np.isfinite(expected).all()


def test_tflite_reads_the_drawn_ids_as_keras_does(exported):
    """The interpreter runs the drawn ids (it refused the ids drawn below 128 before: the
    segment table has two rows) and agrees with the Keras model."""
    from ai_edge_litert.interpreter import Interpreter

    folder, model = exported
    spec = file_specs(folder / "text.tflite")[0]
    drawn = dict(zip(spec.attrs["input_names"], case_inputs(spec)))
    runner = Interpreter(model_content=(folder / "text.tflite").read_bytes()
                         ).get_signature_runner()
    got = next(iter(runner(**drawn).values()))
    expected = model([drawn["token_ids"], drawn["segment_ids"]], training=False).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_gathers_axis_is_read_from_the_shapes():
    assert _gather_axes((1000, 16), (1, 1), (1, 1, 16)) == (0,)
    assert _gather_axes((5, 300), (1, 7), (5, 1, 7)) == (1,)
    assert _gather_axes((5, 300), (1,), (4, 1)) == ()  # fits no axis: no bound


def test_only_the_wrap_carries_an_index_through_arithmetic():
    """ids + 1 gathers rows 1..n: the table's size does not bound ids, and no Less of ids
    says it is the negative-index wrap."""
    table = {"w": (50, 4)}
    gather = IndexNode("Gather", ("w", "shifted"), ("y",), "Gather 'y'")
    shifted = [IndexNode("Add", ("ids", "one"), ("shifted",), "Add"), gather]
    assert index_domain(shifted, table, "ids") is None
    wrap = [IndexNode("Less", ("ids", "zero"), ("negative",), "Less"),
            IndexNode("Add", ("ids", "n"), ("wrapped",), "Add"),
            IndexNode("Where", ("negative", "wrapped", "ids"), ("shifted",), "Where"), gather]
    found = index_domain(wrap, table, "ids")
    assert found is not None and found.bound == 50 and found.consumer == "Gather 'y'"


def test_ids_sliced_and_joined_to_a_constant_stay_ids():
    """A decoder's ``concat([BOS], ids[:, :-1])``: the slice moves ids, the join adds a
    constant; the gathered table still bounds them."""
    nodes = [IndexNode("Slice", ("ids", "starts", "ends"), ("shifted",), "Slice"),
             IndexNode("Concat", ("bos", "shifted"), ("joined",), "Concat"),
             IndexNode("Gather", ("w", "joined"), ("y",), "Gather 'y'")]
    found = index_domain(nodes, {"w": (64, 8)}, "ids")
    assert found is not None and found.bound == 64


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    """A tf.Module that shifts its ids right behind a start id, as a decoder's training
    signature does, saved and converted to TFLite."""
    folder = tmp_path_factory.mktemp("decoder")

    class Shifted(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.Variable(np.random.default_rng(0).normal(size=(300, 4)),
                                     dtype=tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids")])
        def __call__(self, ids):
            start = tf.zeros_like(ids[:, :1])
            shifted = tf.concat([start, ids[:, :-1]], axis=1)
            return {"h": tf.gather(self.table, tf.transpose(shifted))}

    module = Shifted()
    tf.saved_model.save(module, str(folder / "decoder"),
                        signatures=module.__call__.get_concrete_function())
    (folder / "decoder.tflite").write_bytes(
        tf.lite.TFLiteConverter.from_saved_model(str(folder / "decoder")).convert())
    return folder


@pytest.mark.parametrize("name, feeds", [("decoder", "GatherV2 "),
                                         ("decoder.tflite", "GATHER ")])
def test_a_decoders_shifted_ids_are_drawn_below_its_table(decoder, name, feeds):
    spec = file_specs(decoder / name)[0]
    (ids,) = case_inputs(spec)
    assert ids.min() >= 0 and 100 <= ids.max() < 300
    outcome = run_check(CheckOptions(model=str(decoder / name), report=None,
                                     paths=("savedmodel>tf2onnx-savedmodel" if name == "decoder"
                                            else "tflite>tf2onnx-tflite")))
    assert any(n.startswith("ids: indices in [0, 300) (feeds " + feeds)
               for n in outcome.notes), outcome.notes
    assert all(row.verdict == "agrees" for row in outcome.rows)
