"""``parity check`` on Keras files as new users hold them, written here by the real
frameworks, each verdict repeated by hand with the converter the file's users run:

- token ids declared float32 (Keras 2's default ``Input``) feeding an ``Embedding``, in
  Keras 2 (tf_keras) and Keras 3: drawn integer-valued in [0, input_dim), and said so; the
  same for the ONNX model tf2onnx makes of one (a float input cast, then gathered);
- raw pixels in front of a ``Rescaling(1/255)``: drawn in 0..255;
- a model that refuses drawn inputs: the refusal says to give ``--inputs``, with the shapes
  and dtypes it needs;
- a stateful LSTM saved as Keras-2 JSON and weights: read and converted from its reset
  state (tf2onnx otherwise freezes the state an earlier call left), and its dependence on
  earlier calls stated.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
tf_keras = pytest.importorskip("tf_keras")
tf2onnx = pytest.importorskip("tf2onnx")

import keras  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.check.options import CheckError  # noqa: E402

ATOL = 1e-4  # parity check's absolute tolerance for a user's file (harness.check.FILE_ATOL)
VOCAB, SOURCE_LEN, TARGET_LEN = 40, 7, 5


def keras2_seq2seq():
    """Two float32 inputs of token ids (Keras 2's default dtype), each into an Embedding
    with masking, as a small seq2seq model is written."""
    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    source = tf_keras.Input((SOURCE_LEN,), name="source")
    target = tf_keras.Input((TARGET_LEN,), name="target")
    _, h, c = layers.LSTM(6, return_state=True)(
        layers.Embedding(VOCAB, 4, mask_zero=True, name="source_embedding")(source))
    decoded = layers.LSTM(6, return_sequences=True)(
        layers.Embedding(VOCAB + 10, 4, mask_zero=True, name="target_embedding")(target),
        initial_state=[h, c])
    return tf_keras.Model([source, target], layers.Dense(VOCAB)(decoded))


def token_batch(rng, length, vocab, batch=3):
    return rng.integers(0, vocab, (batch, length)).astype(np.float32)


def tf2onnx_by_hand(model, inputs):
    """tf2onnx as the file's users run it, then onnxruntime: the ONNX model and its outputs."""
    signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=f"input_{i}")
                 for i, t in enumerate(model.inputs)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    proto.ir_version = min(proto.ir_version, 10)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return proto, session.run(None, dict(zip(names, inputs)))


def leg(outcome, name):
    return next(row for row in outcome.rows if row.leg == name)


@pytest.fixture(scope="module")
def seq2seq(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokens")
    model = keras2_seq2seq()
    model.save(folder / "seq2seq.h5", save_format="h5")
    return folder, model


def test_float_token_ids_into_an_embedding_are_drawn_as_token_ids(seq2seq):
    folder, model = seq2seq
    rng = np.random.default_rng(0)
    inputs = [token_batch(rng, SOURCE_LEN, VOCAB), token_batch(rng, TARGET_LEN, VOCAB + 10)]
    reference = model(inputs, training=False).numpy()
    _, (converted,) = tf2onnx_by_hand(model, inputs)
    assert np.abs(converted - reference).max() < ATOL  # by hand: tf2onnx agrees

    outcome = run_check(CheckOptions(model=str(folder / "seq2seq.h5"),
                                     paths="tf_keras>tf2onnx-keras2", report=None))
    assert leg(outcome, "tf_keras>tf2onnx-keras2").verdict == "agrees"
    assert ("source: token ids in [0, 40) (feeds Embedding 'source_embedding'); drawn "
            "integer-valued in its declared float32") in outcome.notes
    assert any(n.startswith("target: token ids in [0, 50)") for n in outcome.notes)


def test_the_onnx_tf2onnx_makes_of_it_gathers_its_float_input(seq2seq, tmp_path):
    """tf2onnx casts the float token ids and gathers: the Gather bounds them."""
    folder, model = seq2seq
    rng = np.random.default_rng(1)
    inputs = [token_batch(rng, SOURCE_LEN, VOCAB), token_batch(rng, TARGET_LEN, VOCAB + 10)]
    proto, _ = tf2onnx_by_hand(model, inputs)
    onnx.save(proto, tmp_path / "seq2seq.onnx")
    outcome = run_check(CheckOptions(model=str(tmp_path / "seq2seq.onnx"),
                                     paths="onnx>ort-optimized", report=None))
    assert leg(outcome, "onnx>ort-optimized").verdict == "agrees"
    said = [n for n in outcome.notes if n.startswith("input_0: indices in [0, 40) (feeds "
                                                     "Gather")]
    assert said and said[0].endswith("drawn integer-valued in its declared float32")


def test_keras3_float_token_ids_and_raw_pixels(tmp_path):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((6,), name="tokens")  # float32: Keras' default
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(30, 4, name="embed")(tokens))
    y = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(
        4, 3, name="conv")(keras.layers.Rescaling(1 / 255, name="rescale")(image)))
    model = keras.Model([tokens, image], keras.layers.Dense(
        3, name="head")(keras.layers.Concatenate()([x, y])))
    model.save(tmp_path / "mixed.keras")
    rng = np.random.default_rng(2)
    inputs = [token_batch(rng, 6, 30),
              rng.integers(0, 256, (3, 8, 8, 3)).astype(np.float32)]
    reference = model(inputs, training=False).numpy()
    _, (converted,) = tf2onnx_by_hand(model, inputs)
    assert np.abs(converted - reference).max() < ATOL

    outcome = run_check(CheckOptions(model=str(tmp_path / "mixed.keras"),
                                     paths="keras>tf2onnx", report=None))
    assert leg(outcome, "keras>tf2onnx").verdict == "agrees"
    assert ("tokens: token ids in [0, 30) (feeds Embedding 'embed'); drawn integer-valued in "
            "its declared float32") in outcome.notes
    assert ("image: raw pixels in [0, 255] (feeds Rescaling 'rescale', scale 1/255); drawn "
            "integer-valued in its declared float32") in outcome.notes


def test_a_model_that_refuses_drawn_inputs_says_to_give_them(tmp_path):
    """Token ids computed by a Dense (no consumer names their range): drawn N(0, 1) inputs
    make negative ids, which TensorFlow refuses on the CPU."""
    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((3,), name="features")
    ids = tf_keras.layers.Dense(2, kernel_initializer="ones", bias_initializer=tf_keras.
                                initializers.Constant(-50.0))(x)
    model = tf_keras.Model(x, tf_keras.layers.Embedding(10, 2)(ids))
    model.save(tmp_path / "derived.h5", save_format="h5")
    with pytest.raises(CheckError) as refused:
        run_check(CheckOptions(model=str(tmp_path / "derived.h5"),
                               paths="tf_keras>tf2onnx-keras2", report=None))
    said = str(refused.value)
    assert "cannot be run on inputs of shape 4x3" in said
    assert "--inputs FILE.npz, one array per input ('features' 4x3 float32)" in said


def test_a_stateful_lstm_is_read_and_converted_from_its_reset_state(tmp_path):
    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    model = tf_keras.Sequential([tf_keras.Input((4,), batch_size=1), layers.Reshape((4, 1)),
                                 layers.LSTM(3, stateful=True, name="lstm"), layers.Dense(2)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    (tmp_path / "arch.json").write_text(model.to_json())
    model.save_weights(tmp_path / "weights.h5")

    x = rng.normal(size=(1, 4)).astype(np.float32)
    model.reset_states()
    first = model(x).numpy()
    second = model(x).numpy()
    assert np.abs(second - first).max() > 1e-3  # the state carries over
    _, (after_call,) = tf2onnx_by_hand(model, [x])  # converted after a call: state frozen
    assert np.abs(after_call - first).max() > ATOL
    model.reset_states()
    _, (after_reset,) = tf2onnx_by_hand(model, [x])
    assert np.abs(after_reset - first).max() < ATOL

    outcome = run_check(CheckOptions(model=str(tmp_path / "arch.json"),
                                     weights=str(tmp_path / "weights.h5"),
                                     paths="tf_keras>tf2onnx-keras2", report=None))
    assert leg(outcome, "tf_keras>tf2onnx-keras2").verdict == "agrees"
    assert ("reset the state of 1 stateful layer ('lstm') before each reading and conversion"
            in outcome.notes)
    assert any(n.startswith("the model's outputs depend on earlier calls: called twice on the "
                            "same inputs after a reset, the second call differs")
               for n in outcome.notes)
