"""Keras models whose categorical features go through a lookup, as the structured-data
tutorials build them: a string feature through ``StringLookup``, an integer code through
``IntegerLookup``. Such an input is drawn from the lookup's vocabulary and one value outside
it. Before, a string input was refused with no way round ("takes string values; parity
draws numbers"), and an integer one drawn below 2 was out of vocabulary in every row, so
every leg agreed on one output. Keras on the torch backend cannot take strings at all: its
leg does not apply, rather than failing in parity's worker."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.sources.file import case_inputs, file_specs  # noqa: E402
from harness.sources.file.vocabularies import OUT_OF_VOCABULARY  # noqa: E402

THAL = ["fixed", "normal", "reversible"]
CODES = [10, 20, 30, 40, 50]


def heart_model(path):
    """The heart-disease model of Keras' structured-data example, cut to one feature of each
    kind: ``thal`` a string, ``cp`` an integer code."""
    import keras

    keras.utils.set_random_seed(0)
    thal = keras.Input((1,), dtype="string", name="thal")
    cp = keras.Input((1,), dtype="int64", name="cp")
    thal_hot = keras.layers.StringLookup(vocabulary=THAL, output_mode="one_hot",
                                         name="thal_lookup")(thal)
    cp_hot = keras.layers.IntegerLookup(vocabulary=CODES, output_mode="one_hot",
                                        name="cp_lookup")(cp)
    x = keras.layers.Concatenate()([thal_hot, cp_hot])
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(8, "relu")(x))
    keras.Model({"thal": thal, "cp": cp}, out).save(path)


def strings_model(path):
    import keras

    keras.utils.set_random_seed(0)
    words = keras.Input((4,), dtype="string", name="words")
    ids = keras.layers.StringLookup(vocabulary=THAL, name="lookup")(words)
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(4, 3)(ids))
    keras.Model(words, keras.layers.Dense(2)(pooled)).save(path)


def test_lookup_inputs_are_drawn_from_their_vocabularies(tmp_path):
    heart_model(tmp_path / "heart.keras")
    spec = file_specs(tmp_path / "heart.keras")[0]
    drawn = dict(zip(spec.attrs["input_names"], case_inputs(spec)))
    assert drawn["thal"].dtype == object and drawn["cp"].dtype == np.int64
    assert set(drawn["thal"].reshape(-1)) <= {*THAL, OUT_OF_VOCABULARY}
    assert set(drawn["cp"].reshape(-1)) <= {*CODES, 51}
    assert len(set(drawn["cp"].reshape(-1)) & set(CODES)) >= 2

    outcome = run_check(CheckOptions(model=str(tmp_path / "heart.keras"),
                                     paths="keras>savedmodel,keras>keras-torch", report=None))
    verdicts = {row.leg: row.verdict for row in outcome.rows}
    assert verdicts == {"keras>savedmodel": "agrees", "keras>keras-torch": "not applicable"}
    notes = " ".join(outcome.notes)
    assert "thal: drawn from the vocabulary of StringLookup 'thal_lookup'" in notes
    assert "cp: drawn from the vocabulary of IntegerLookup 'cp_lookup' (10, 20, 30, 40, 50)" \
        in notes
    assert not any(n.startswith("weak:") for n in outcome.notes), outcome.notes


def test_a_string_model_goes_down_tf2onnx(tmp_path):
    """tf2onnx converts a string-to-id lookup (ai.onnx.ml's CategoryMapper), and by hand
    onnxruntime agrees with Keras on the drawn words, the unknown one included."""
    strings_model(tmp_path / "words.keras")
    spec = file_specs(tmp_path / "words.keras")[0]
    (words,) = case_inputs(spec)
    assert OUT_OF_VOCABULARY in set(words.reshape(-1)) and len(set(words.reshape(-1))) >= 3

    outcome = run_check(CheckOptions(model=str(tmp_path / "words.keras"),
                                     paths="keras>tf2onnx>ort-optimized", report=None))
    verdicts = {row.leg: row.verdict for row in outcome.rows}
    assert verdicts == {"keras>tf2onnx": "agrees", "keras>tf2onnx>ort-optimized": "agrees"}


def test_a_string_input_without_a_vocabulary_asks_for_inputs(tmp_path, capsys):
    import keras

    from harness.cli import main

    words = keras.Input((2,), dtype="string", name="words")
    hashed = keras.layers.Hashing(num_bins=4)(words)
    keras.Model(words, keras.layers.Dense(1)(keras.ops.cast(hashed, "float32"))).save(
        tmp_path / "hashed.keras")
    assert main(["check", str(tmp_path / "hashed.keras"), "--report", "none", "-q"]) == 2
    err = capsys.readouterr().err
    assert "input 'words' takes strings" in err and "--inputs FILE.npz" in err, err


def test_a_text_model_is_fed_sentences_of_its_vocabulary(tmp_path):
    """A TextVectorization inside the model (the text-classification tutorial's export): its
    input is drawn as sentences of the vocabulary's words; tf2onnx has no handler for the
    standardisation's StaticRegexReplace, which the verdict names."""
    import keras

    from harness.sources.file.vocabularies import UNKNOWN_WORD

    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=6,
                                               name="vectorize")
    vectorize.adapt(np.array(["the cat sat on the mat", "a dog ate my homework"]))
    text = keras.Input((1,), dtype="string", name="text")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(vectorize(text)))
    keras.Model(text, keras.layers.Dense(1)(pooled)).save(tmp_path / "text.keras")

    spec = file_specs(tmp_path / "text.keras")[0]
    (sentences,) = case_inputs(spec)
    words = {w for sentence in sentences.reshape(-1) for w in sentence.split()}
    known = set(vectorize.get_vocabulary(include_special_tokens=False))
    assert words <= known | {UNKNOWN_WORD} and len(words & known) >= 3, words

    outcome = run_check(CheckOptions(model=str(tmp_path / "text.keras"),
                                     paths="keras>savedmodel,keras>tf2onnx", report=None))
    rows = {row.leg: row for row in outcome.rows}
    assert rows["keras>savedmodel"].verdict == "agrees"
    assert rows["keras>tf2onnx"].verdict == "unsupported"
    assert "StaticRegexReplace" in rows["keras>tf2onnx"].where


# -- the same models as Keras 3's model.export writes them: a SavedModel without Keras' layers


def test_an_exported_models_lookup_inputs_are_drawn_from_its_hash_tables(tmp_path):
    """``model.export`` keeps no Keras metadata: the vocabularies are read from the hash
    tables the signature's graph looks its inputs up in. Before, the string input was refused
    and the integer code drawn below 2 (out of vocabulary in every row)."""
    import keras

    heart_model(tmp_path / "heart.keras")
    keras.models.load_model(tmp_path / "heart.keras").export(tmp_path / "heart", verbose=False)
    spec = file_specs(tmp_path / "heart")[0]
    drawn = dict(zip(spec.attrs["input_names"], case_inputs(spec)))
    assert set(drawn["thal"].reshape(-1)) <= {*THAL, OUT_OF_VOCABULARY}
    assert len(set(drawn["thal"].reshape(-1)) & set(THAL)) >= 2
    assert set(drawn["cp"].reshape(-1)) <= {*CODES, 51}
    assert len(set(drawn["cp"].reshape(-1)) & set(CODES)) >= 2

    outcome = run_check(CheckOptions(model=str(tmp_path / "heart"),
                                     paths="savedmodel>tf2onnx-savedmodel", report=None))
    notes = " ".join(outcome.notes)
    assert "thal: drawn from the vocabulary of the hash table 'functional" in notes, notes
    assert "('fixed', 'normal', 'reversible')" in notes
    assert "(10, 20, 30, 40, 50), and 51" in notes
    # tf2onnx maps string keys to ids (CategoryMapper), not integer ones: the verdict says so.
    (row,) = outcome.rows
    assert row.verdict == "error" and "string<->int64" in row.message, row


def test_an_exported_string_model_agrees_down_its_savedmodel_legs(tmp_path):
    import keras

    strings_model(tmp_path / "words.keras")
    keras.models.load_model(tmp_path / "words.keras").export(tmp_path / "words", verbose=False)
    (words,) = case_inputs(file_specs(tmp_path / "words")[0])
    assert OUT_OF_VOCABULARY in set(words.reshape(-1)) and len(set(words.reshape(-1))) >= 3

    outcome = run_check(CheckOptions(
        model=str(tmp_path / "words"), report=None,
        paths="savedmodel>tf2onnx-savedmodel>ort-optimized,savedmodel>tflite-savedmodel"))
    assert {row.leg: row.verdict for row in outcome.rows} == {
        "savedmodel>tf2onnx-savedmodel": "agrees",
        "savedmodel>tf2onnx-savedmodel>ort-optimized": "agrees",
        "savedmodel>tflite-savedmodel": "agrees"}


def test_an_exported_text_model_is_fed_sentences(tmp_path):
    import keras

    from harness.sources.file.vocabularies import UNKNOWN_WORD

    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=6)
    vectorize.adapt(np.array(["the cat sat on the mat", "a dog ate my homework"]))
    text = keras.Input((1,), dtype="string", name="text")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(vectorize(text)))
    keras.Model(text, keras.layers.Dense(1)(pooled)).export(tmp_path / "text", verbose=False)
    (sentences,) = case_inputs(file_specs(tmp_path / "text")[0])
    words = [w for sentence in sentences.reshape(-1) for w in sentence.split()]
    known = set(vectorize.get_vocabulary(include_special_tokens=False))
    assert set(words) <= known | {UNKNOWN_WORD} and len(set(words) & known) >= 3, words
    assert any(len(sentence.split()) > 1 for sentence in sentences.reshape(-1))


def test_the_refusal_names_the_string_input_no_vocabulary_reads(tmp_path, capsys):
    """Of two string inputs, the one a lookup reads is drawn; the hashed one is named."""
    import tensorflow as tf

    from harness.cli import main

    class Two(tf.Module):
        def __init__(self):
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant(THAL), tf.constant([0, 1, 2], tf.int64)), -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="city"),
                                      tf.TensorSpec([None], tf.string, name="kind")])
        def __call__(self, city, kind):
            hashed = tf.strings.to_hash_bucket_fast(kind, 8)
            return tf.cast(hashed + self.table.lookup(tf.strings.lower(city)), tf.float32)

    module = Two()
    tf.saved_model.save(module, str(tmp_path / "two"), signatures=module.__call__)
    assert main(["check", str(tmp_path / "two"), "--report", "none", "-q"]) == 2
    err = capsys.readouterr().err
    assert "input 'kind' takes strings" in err and "--inputs FILE.npz" in err, err


def has_locale(name: str) -> bool:
    import locale

    try:
        locale.setlocale(locale.LC_CTYPE, name)
        return True
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, "")


def test_a_leg_onnxruntime_cannot_load_for_want_of_a_locale_blames_no_converter(tmp_path):
    """tf2onnx writes a lower-casing lookup as StringNormalizer > CategoryMapper, which
    onnxruntime lower-cases by the system locale en_US.UTF-8. On a machine without it (only
    the C locales, as a slim image has) the leg was an error at stage tf2onnx-savedmodel;
    it is a leg that cannot run here, saying what to install, and the other legs go on."""
    import tensorflow as tf

    class Colours(tf.Module):
        def __init__(self):
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant(THAL), tf.constant([0, 1, 2], tf.int64)), -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="thal")])
        def __call__(self, thal):
            return tf.cast(self.table.lookup(tf.strings.lower(thal)), tf.float32)

    module = Colours()
    tf.saved_model.save(module, str(tmp_path / "colours"), signatures=module.__call__)
    outcome = run_check(CheckOptions(model=str(tmp_path / "colours"), report=None,
                                     paths="savedmodel>tf2onnx-savedmodel"))
    (row,) = outcome.rows
    if has_locale("en_US.UTF-8"):
        assert row.verdict == "agrees", row
    else:
        assert row.verdict == "not applicable", row
        assert row.message.startswith("onnxruntime cannot run here: its StringNormalizer needs "
                                      "the system locale en_US.UTF-8"), row.message
        assert row.where is None and not row.disagrees
