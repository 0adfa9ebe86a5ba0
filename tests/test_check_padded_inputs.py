"""A user's sequence model that masks its padding is checked on padded sequences.

An ``Embedding`` with mask_zero, or a ``Masking`` layer, makes the model skip the timesteps
that hold the padding value, and its users feed it sequences padded so
(``keras.utils.pad_sequences``: at the start by default, or at the end). parity drew token
ids uniformly, so a masked step came only by chance, and a converter that dropped the mask
would still have agreed. Now such an input is drawn as padded rows (the end, the start, none,
in turn), and the note says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
keras = pytest.importorskip("keras")
pytest.importorskip("tf2onnx")

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core.inputs import make_inputs  # noqa: E402
from harness.sources.file import file_specs  # noqa: E402
from harness.sources.file.case import case_inputs  # noqa: E402

STEPS = 7


def token_model(path, *, mask_zero: bool):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((STEPS,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=mask_zero)(tokens)
    x = keras.layers.LSTM(3)(x)
    keras.Model(tokens, keras.layers.Dense(2)(x)).save(path)
    return path


def masking_model(path, mask_value: float = -1.0):
    keras.utils.set_random_seed(0)
    series = keras.Input((STEPS, 2))
    x = keras.layers.Masking(mask_value=mask_value)(series)
    keras.Model(series, keras.layers.GRU(3)(x)).save(path)
    return path


def first_inputs(path):
    spec = file_specs(path)[0]
    return spec, case_inputs(spec)[0]


def test_token_ids_of_a_mask_zero_embedding_are_padded_rows(tmp_path):
    spec, tokens = first_inputs(token_model(tmp_path / "tokens.keras", mask_zero=True))
    assert spec.attrs["padded_inputs"] == [0.0]
    assert tokens.shape[0] >= 3
    # Drawn as without the mask, then padded: a stream of its own leaves the draws alone.
    unpadded = make_inputs(spec)[0]
    changed = tokens != unpadded
    assert (tokens[changed] == 0).all()
    assert tokens[0, -1] == 0 and tokens[0, 0] == unpadded[0, 0]  # padded at the end
    assert tokens[1, 0] == 0 and tokens[1, -1] == unpadded[1, -1]  # padded at the start
    np.testing.assert_array_equal(tokens[2], unpadded[2])  # one in three unpadded


def test_timesteps_a_masking_layer_skips_hold_its_mask_value(tmp_path):
    _, series = first_inputs(masking_model(tmp_path / "series.keras", mask_value=-1.0))
    masked = (series == -1.0).all(axis=-1)
    assert masked[0, -1] and not masked[0, 0]  # the end
    assert masked[1, 0] and not masked[1, -1]  # the start
    assert not masked[2].any()


def test_an_embedding_that_masks_nothing_is_drawn_as_before(tmp_path):
    spec, tokens = first_inputs(token_model(tmp_path / "plain.keras", mask_zero=False))
    assert "padded_inputs" not in spec.attrs
    np.testing.assert_array_equal(tokens, make_inputs(spec)[0])


def test_the_padded_draw_makes_the_mask_matter_and_the_converters_agree(tmp_path):
    """The same weights without the mask give other outputs on these inputs (so a converter
    that dropped the mask would differ), and tf2onnx and Keras on torch keep it."""
    path = token_model(tmp_path / "tokens.keras", mask_zero=True)
    spec, tokens = first_inputs(path)
    masked = keras.saving.load_model(path)
    unmasked = keras.saving.load_model(token_model(tmp_path / "same.keras", mask_zero=False))
    assert not np.allclose(masked(tokens), unmasked(tokens), atol=1e-4)
    result = run_check(CheckOptions(model=path, paths="keras>tf2onnx,keras>keras-torch",
                                    report=None))
    assert {row.leg: row.verdict for row in result.rows} == {
        "keras>tf2onnx": "agrees", "keras>keras-torch": "agrees"}
    assert any("sequences padded with 0, which Embedding" in note for note in result.notes)


# -- padding masks, known by their names -------------------------------------------------------

def masked_mean_onnx(path, mask_name="attention_mask", mask_type=None, mask_dims=("b", "s")):
    """A tokenizer's inputs, as torch.onnx.export writes a model of them: token ids into an
    embedding table (Gather) and a (batch, length) mask that averages the real tokens."""
    from onnx import TensorProto, helper, numpy_helper, save

    mask_type = TensorProto.INT64 if mask_type is None else mask_type
    table = numpy_helper.from_array(
        np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32), "table")
    nodes = [helper.make_node("Gather", ["table", "input_ids"], ["embedded"]),
             helper.make_node("Cast", [mask_name], ["mask_f"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["mask_f"], ["mask_3d"], axes=[-1]),
             helper.make_node("Mul", ["embedded", "mask_3d"], ["kept"]),
             helper.make_node("ReduceSum", ["kept"], ["total"], axes=[1], keepdims=0),
             helper.make_node("ReduceSum", ["mask_3d"], ["count"], axes=[1], keepdims=0),
             helper.make_node("Div", ["total", "count"], ["pooled"])]
    graph = helper.make_graph(
        nodes, "masked_mean",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"]),
         helper.make_tensor_value_info(mask_name, mask_type, list(mask_dims))],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["b", 4])],
        [table])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=8),
         path)
    return path


def assert_padded_like_a_tokenizer(mask):
    assert set(np.unique(mask).tolist()) <= {0, 1}
    assert mask.all(axis=1).sum() >= 1 and mask.any(axis=1).all()  # no row wholly padding
    assert mask[0, 0] and not mask[0, -1]  # padded at the end
    assert not mask[1, 0] and mask[1, -1]  # padded at the start
    assert mask[2].all()  # one in three unpadded
    # Each row is its real tokens then padding, or padding then them: no hole in between.
    for row in mask.astype(int):
        assert np.count_nonzero(np.diff(row)) <= 1


def test_an_onnx_attention_mask_is_drawn_as_a_tokenizer_pads_a_batch(tmp_path):
    spec, _ = first_inputs(masked_mean_onnx(tmp_path / "pooled.onnx"))
    ids, mask = case_inputs(spec)
    assert spec.attrs["mask_inputs"] == [False, True]
    assert mask.dtype == np.int64 and mask.shape == ids.shape == (4, 8)
    assert_padded_like_a_tokenizer(mask)
    assert ids.max() < 30  # the Gather's table still bounds the ids
    result = run_check(CheckOptions(model=str(tmp_path / "pooled.onnx"), report=None,
                                    paths="onnx>onnx2torch"))
    assert [row.verdict for row in result.rows] == ["agrees"]
    assert ("attention_mask: a padding mask by its name: drawn as a tokenizer pads a batch, 1 "
            "for each real token and 0 for padding (rows padded at the end and at the start, "
            "one in three unpadded)") in result.notes


@pytest.mark.parametrize("name, mask_type, dims, expected", [
    ("input_mask", "bool", ("b", "s"), True),  # TF Hub BERT's name, as a boolean
    ("serving_default_padding_mask:0", "int32", ("b", "s"), True),  # a signature's tensor
    ("bitmask", "int64", ("b", "s"), False),  # not a separate word
    ("attention_mask", "float", ("b", "s"), False),  # additive or multiplicative: unknown
    ("attention_mask", "int64", ("b", 1, 1, "s"), False),  # an extended mask, not a batch's
])
def test_which_inputs_are_padding_masks(tmp_path, name, mask_type, dims, expected):
    from onnx import helper

    element = helper.np_dtype_to_tensor_dtype(np.dtype(mask_type if mask_type != "float"
                                                       else "float32"))
    path = tmp_path / "model.onnx"
    if len(dims) == 2:
        masked_mean_onnx(path, name, element, dims)
    else:
        from onnx import TensorProto, save

        graph = helper.make_graph(
            [helper.make_node("Cast", [name], ["y"], to=TensorProto.FLOAT)], "extended",
            [helper.make_tensor_value_info(name, element, list(dims))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))])
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                               ir_version=8), path)
    spec = file_specs(path)[0]
    assert spec.attrs.get("mask_inputs", [False])[-1] is expected


def test_a_keras_padding_mask_input_is_drawn_padded(tmp_path):
    """KerasHub's backbones take token_ids and a padding_mask."""
    keras.utils.set_random_seed(0)
    token_ids = keras.Input((STEPS,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((STEPS,), dtype="int32", name="padding_mask")
    embedded = keras.layers.Embedding(20, 4)(token_ids)
    weights = keras.ops.expand_dims(keras.ops.cast(padding_mask, "float32"), -1)
    pooled = keras.ops.sum(embedded * weights, axis=1)
    keras.Model({"token_ids": token_ids, "padding_mask": padding_mask},
                keras.layers.Dense(2)(pooled)).save(tmp_path / "backbone.keras")
    spec = file_specs(tmp_path / "backbone.keras")[0]
    arrays = dict(zip(spec.attrs["input_names"], case_inputs(spec)))
    assert_padded_like_a_tokenizer(arrays["padding_mask"])
    assert arrays["token_ids"].max() < 20
