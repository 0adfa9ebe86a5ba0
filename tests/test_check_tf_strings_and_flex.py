"""TensorFlow files that take text or need TensorFlow's own kernels, written here as their
users write them: a SavedModel whose signature takes a ``tf.string`` (hashed into an
embedding, as a serving model takes raw text), and the TFLite file its users make of it with
``SELECT_TF_OPS``. parity draws no strings (the command says what to give, as it does for an
ONNX string input; it raised TypeError on ``np.dtype("string")`` before), reads given ones,
and a Flex file on an interpreter without the Flex delegate is this machine's refusal (exit
3), not the inputs' fault (it said "parity drew these inputs, and cannot tell the values the
model expects")."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_litert")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

import tensorflow as tf  # noqa: E402

from harness.cli import main  # noqa: E402
from harness.core import exits  # noqa: E402

BUCKETS = 20


class HashedText(tf.Module):
    def __init__(self):
        super().__init__()
        self.table = tf.Variable(np.random.default_rng(0).normal(size=(BUCKETS, 4)),
                                 dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def __call__(self, text):
        return {"y": tf.gather(self.table, tf.strings.to_hash_bucket_fast(text, BUCKETS))}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    module = HashedText()
    tf.saved_model.save(module, str(folder / "text"),
                        signatures=module.__call__.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder / "text"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    (folder / "text.tflite").write_bytes(converter.convert())
    return folder, module


def check(capsys, *args) -> tuple[int, str]:
    code = main(["check", "--report", "none", *map(str, args)])
    return code, " ".join(capsys.readouterr().err.split())


def test_a_string_input_is_not_drawn_and_the_command_says_what_to_give(written, capsys):
    folder, _ = written
    code, said = check(capsys, folder / "text")
    assert code == 2  # the model cannot be checked as it is asked
    assert (f"parity check: {folder / 'text'}: input 'text' takes strings, which parity does "
            f"not draw: it cannot tell which strings the model expects; give inputs it runs "
            f"on with --inputs FILE.npz, one array per input ('text' ? str; strings as a "
            f"NumPy str array, ? any size)") in said


def test_given_strings_are_read_and_each_leg_names_what_it_lacks(written, capsys, tmp_path):
    folder, module = written
    text = np.array(["a review", "another", "a"])
    np.savez(tmp_path / "text.npz", text=text)
    code = main(["check", str(folder / "text"), "--inputs", str(tmp_path / "text.npz"),
                 "--report", "none", "--json", "-q"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and payload["sizes"] == [[[3]]]
    legs = {leg["leg"]: leg for leg in payload["legs"]}
    # tf2onnx has no StringToHashBucketFast; TFLiteConverter needs Select TF ops for it.
    assert legs["savedmodel>tf2onnx-savedmodel"]["verdict"] == "unsupported"
    assert "StringToHashBucketFast" in legs["savedmodel>tf2onnx-savedmodel"]["where"]
    assert "neither a custom op nor a flex op" in legs["savedmodel>tflite-savedmodel"]["message"]
    # By hand: the reading parity compared with is the module's own.
    assert module(tf.constant(text))["y"].shape == (3, 4)


def test_a_flex_tflite_file_is_this_machines_refusal(written, capsys):
    folder, _ = written
    code, said = check(capsys, folder / "text.tflite")
    assert code == exits.CANNOT_RUN_HERE == 3
    assert (f"parity check: cannot run here: {folder / 'text.tflite'}: its graph holds "
            f"TensorFlow ops (StringToHashBucketFast) that LiteRT runs only with the Flex "
            f"delegate (Select TF ops)") in said
    assert "parity drew these inputs" not in said


@pytest.mark.parametrize("dtype, read", [
    (tf.float32, "float32"), (tf.bfloat16, "bfloat16"), (tf.uint8, "uint8"),
    (tf.bool, "bool"), (tf.string, "object"),
    (tf.qint8, None), (tf.complex64, None), (tf.resource, None), (tf.variant, None)])
def test_a_signature_inputs_dtype_is_read_or_refused_by_name(dtype, read, tmp_path):
    from harness.sources.file.errors import UnsupportedFile
    from harness.sources.file.savedmodel import _numpy_dtype

    spec = tf.TensorSpec([None], dtype, name="x")
    if read is not None:
        assert _numpy_dtype(tmp_path, "x", spec) == read
        return
    with pytest.raises(UnsupportedFile) as refused:
        _numpy_dtype(tmp_path, "x", spec)
    assert str(refused.value) == (f"{tmp_path}: input 'x' has dtype {dtype.name}, which "
                                  f"parity cannot draw nor read from --inputs")
