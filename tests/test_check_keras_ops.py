"""A user's Keras 3 model that calls keras.ops in its functional graph, which the Keras source
does not draw: a classifier that ends in ``keras.ops.argmax``.

Keras 3.9 made the TensorFlow backend's argmax of floats tell -0.0 from 0.0 by the sign bit
(Bitcast, BitwiseAnd): tf2onnx leaves both in the ONNX graph (no handler) and TFLite refuses
BitwiseAnd, while Keras' torch backend and the SavedModel read it right. Each refusal is a
known issue of the converter, and tf2onnx's is named in the leg's note, not only as the op
onnxruntime does not have.
"""

from __future__ import annotations

import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import keras  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402

KNOWN = {
    "keras>tf2onnx": "tf2onnx-keras3-argmax-bitcast",
    "keras>keras-onnx": "tf2onnx-keras3-argmax-bitcast",
    "keras>tflite": "tflite-keras3-argmax-bitwise-and",
}
AGREE = ("keras>keras-torch", "keras>savedmodel")


def test_a_keras3_argmax_meets_tf2onnx_and_tflites_refusals(tmp_path):
    inputs = keras.Input((6,), name="x")
    scores = keras.layers.Dense(4, name="scores")(inputs)
    model = keras.Model(inputs, [scores, keras.ops.argmax(scores, axis=-1)])
    path = tmp_path / "argmax.keras"
    model.save(path)
    outcome = run_check(CheckOptions(model=path, paths=",".join([*KNOWN, *AGREE]),
                                     report=None))
    rows = {row.leg: row for row in outcome.rows}
    for leg, entry in KNOWN.items():
        assert (rows[leg].known_issue or {}).get("id") == entry, (leg, rows[leg].message)
    assert "tf2onnx has no handler for TensorFlow's Bitcast" in rows["keras>tf2onnx"].note
    for leg in AGREE:
        assert rows[leg].verdict == "agrees", (leg, rows[leg].message)


def test_a_new_axis_slice_over_free_dims_meets_tflites_refusal(tmp_path):
    """A padding mask over (batch, length), both free, widened with mask[:, None, :] as
    transformer code writes it: TFLite refuses the slice; expand_dims converts, and so does
    every other leg."""
    def masked_model(widen):
        keras.utils.set_random_seed(0)
        features = keras.Input((None, 4), name="features")
        mask = keras.Input((None,), dtype="int32", name="padding_mask")
        weights = keras.ops.cast(widen(mask), "float32")  # (batch, 1, length)
        pooled = keras.ops.squeeze(keras.ops.matmul(weights, features), 1)
        return keras.Model([features, mask], keras.layers.Dense(2)(pooled))

    paths = "keras>tflite,keras>savedmodel>tflite-savedmodel,keras>tf2onnx"
    sliced = tmp_path / "sliced.keras"
    masked_model(lambda mask: mask[:, None, :]).save(sliced)
    rows = {row.leg: row for row in run_check(CheckOptions(model=sliced, paths=paths,
                                                           report=None)).rows}
    for leg in ("keras>tflite", "keras>savedmodel>tflite-savedmodel"):
        assert (rows[leg].known_issue or {}).get("id") == \
            "tflite-strided-slice-new-axis-on-free-dims", (leg, rows[leg].message)
    assert rows["keras>tf2onnx"].verdict == "agrees"
    expanded = tmp_path / "expanded.keras"
    masked_model(lambda mask: keras.ops.expand_dims(mask, 1)).save(expanded)
    outcome = run_check(CheckOptions(model=expanded, paths=paths, report=None))
    verdicts = {row.leg: row.verdict for row in outcome.rows}
    assert set(paths.split(",")) <= set(verdicts)
    assert set(verdicts.values()) == {"agrees"}, verdicts
