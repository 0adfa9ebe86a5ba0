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
