"""tf2onnx's einsum choices preloaded from harness/converters/tf2onnx_einsum.json: the model
converted with a preloaded choice is the one tf2onnx's own search gives (same nodes, same
attributes, bit-identical outputs), a table searched under other code is not used, and the
table's choices are what the search picks here."""

import json
from collections import Counter

import numpy as np
import pytest

from harness.converters import Artifact, ConvertOptions, get
from harness.converters import tf2onnx_einsum as einsum_choices
from harness.tools import einsum_table

pytest.importorskip("tensorflow", reason="the models are Keras models")
pytest.importorskip("tf2onnx", reason="the choices are tf2onnx's")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def fresh_cache():
    """tf2onnx's per-process einsum cache emptied, as in a new process; restored after."""
    from tf2onnx.optimizer.einsum_optimizer import CachedEinsum

    kept = dict(CachedEinsum.einsum_cache)
    CachedEinsum.einsum_cache.clear()
    einsum_choices.reset()
    yield CachedEinsum.einsum_cache
    CachedEinsum.einsum_cache.clear()
    CachedEinsum.einsum_cache.update(kept)
    einsum_choices.reset()


def attention_model():
    import keras

    keras.utils.set_random_seed(3)
    query, value = keras.Input((3, 4)), keras.Input((2, 4))
    out = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)(query, value)
    return keras.Model([query, value], out)


def convert(model, table):
    """tf2onnx's model, with ``table``'s choices preloaded (none where it is missing)."""
    einsum_choices.reset()
    einsum_choices.preload(table)
    artifact = Artifact("keras", model, ["input_0", "input_1"])
    return get("tf2onnx").convert(artifact, ConvertOptions()).model


def structure(proto) -> Counter:
    """The model's nodes by type and attributes: tf2onnx names nodes after Python object ids,
    so two conversions of one model do not match byte for byte."""
    import onnx

    return Counter((node.op_type, tuple(sorted(
        (a.name, str(onnx.helper.get_attribute_value(a))) for a in node.attribute)))
        for node in proto.graph.node)


def outputs(proto) -> list[np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.standard_normal((2, *[d.dim_value for d in
                                                i.type.tensor_type.shape.dim[1:]]))
             .astype(np.float32) for i in proto.graph.input}
    return session.run(None, feeds)


def write_table(path, choices, fingerprint=None):
    path.write_text(json.dumps({"schema": einsum_choices.SCHEMA,
                                "fingerprint": fingerprint or einsum_choices.fingerprint(),
                                "choices": choices}), encoding="utf-8")
    return path


def test_a_preloaded_choice_converts_to_the_searched_model(fresh_cache, tmp_path):
    model = attention_model()
    searched_model = convert(model, tmp_path / "none.json")
    choices = einsum_choices.searched()
    assert len(choices) == 2  # MultiHeadAttention's two einsums over rank-3 inputs
    assert all(c["chosen"] != c["equation"] for c in choices)  # the search moved the letters

    fresh_cache.clear()
    preloaded_model = convert(model, write_table(tmp_path / "table.json", choices))
    assert einsum_choices.searched() == []  # nothing searched again
    assert structure(preloaded_model) == structure(searched_model)
    for got, expected in zip(outputs(preloaded_model), outputs(searched_model), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_another_choice_would_show(fresh_cache, tmp_path):
    """The comparison above sees a different letter order: the equation kept as it is."""
    model = attention_model()
    searched_model = convert(model, tmp_path / "none.json")
    unoptimised = [{**c, "chosen": c["equation"]} for c in einsum_choices.searched()]
    fresh_cache.clear()
    other = convert(model, write_table(tmp_path / "table.json", unoptimised))
    assert structure(other) != structure(searched_model)


def test_a_table_searched_under_other_code_is_not_used(fresh_cache, tmp_path):
    convert(attention_model(), tmp_path / "none.json")
    choices = einsum_choices.searched()
    fresh_cache.clear()
    foreign = {**einsum_choices.fingerprint(), "tf2onnx": "1.17.0+edited"}
    einsum_choices.reset()
    assert einsum_choices.preload(write_table(tmp_path / "t.json", choices, foreign)) == 0
    assert not fresh_cache
    einsum_choices.reset()
    assert einsum_choices.preload(write_table(tmp_path / "t.json", choices)) == 2


def test_the_shipped_table_holds_what_the_search_picks_here(fresh_cache):
    """Every shipped choice of five letters or fewer (a second of search each) searched
    again in this process; the longer ones are the same code's."""
    from tf2onnx.optimizer.einsum_optimizer import optimize_einsum

    table = einsum_choices.read_table()
    if table["fingerprint"] != einsum_choices.fingerprint():
        pytest.skip("the table was searched under another tf2onnx, numpy or onnx: "
                    "nothing of it is preloaded here")
    short = [c for c in table["choices"]
             if len(set(c["equation"]) - set(",->")) <= 5]
    assert short
    for choice in short:
        found = optimize_einsum(choice["equation"], np.float32, opset=choice["opset"],
                                decompose=choice["decompose"])
        assert found.equation_ == choice["chosen"], choice


def test_merge_keeps_only_this_fingerprint(tmp_path):
    mine = einsum_choices.fingerprint()
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [
        {"fingerprint": mine, "equation": "ab,bc->ac", "opset": 17, "decompose": True,
         "chosen": "ab,bc->ac"},
        {"fingerprint": {**mine, "numpy": "0.0"}, "equation": "ab,bc->ca", "opset": 17,
         "decompose": True, "chosen": "ba,ac->bc"},
    ]) + "\n", encoding="utf-8")
    table = einsum_table.merge([records], tmp_path / "absent.json")
    assert table["fingerprint"] == mine
    assert [c["equation"] for c in table["choices"]] == ["ab,bc->ac"]


def test_an_optimiser_patched_in_memory_is_not_preloaded(fresh_cache, tmp_path, monkeypatch):
    """A fault put into the search at run time (no file changed) searches for itself."""
    from tf2onnx.optimizer import einsum_optimizer

    convert(attention_model(), tmp_path / "none.json")
    table = write_table(tmp_path / "t.json", einsum_choices.searched())
    monkeypatch.setattr(einsum_optimizer, "predict_transposition_cost", lambda *args: 0.0)
    einsum_choices.reset()
    assert einsum_choices.preload(table) == 0
