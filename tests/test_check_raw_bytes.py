"""Models that take an image's raw bytes, their preprocessing inside, as their writers export
them: a torch module that casts a uint8 image and scales it (``torch.onnx.export``), and a
Keras model with a uint8 input converted to TFLite. A uint8 input no consumer bounds is drawn
over the whole of [0, 255], as images are; drawn below 2 (ONNX) or 128 (TFLite), the image
was black or half its range, and a threshold on brightness saw nothing every leg agreed on. A
uint8 padding mask stays a mask."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

import torch  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.sources.file import case_inputs, file_specs  # noqa: E402

NOTE = "image: uint8, which no consumer bounds: drawn over the whole of [0, 255]"


class BrightPixels(torch.nn.Module):
    """The share of each image's pixels brighter than 0.8 of full scale."""

    def forward(self, image):
        scaled = image.float() / 255.0
        return (scaled > 0.8).float().mean(dim=(1, 2, 3), keepdim=False)[:, None] * 2.0 - 1.0


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bytes") / "bright.onnx"
    torch.onnx.export(BrightPixels(), (torch.zeros(1, 3, 8, 8, dtype=torch.uint8),),
                      str(path), input_names=["image"], output_names=["share"],
                      dynamic_axes={"image": {0: "batch"}}, dynamo=False, opset_version=17)
    return path


def test_an_onnx_uint8_image_is_drawn_over_its_whole_range(onnx_file):
    spec = file_specs(onnx_file)[0]
    (image,) = case_inputs(spec)
    assert image.dtype == np.uint8 and image.min() <= 10 and image.max() >= 245
    # By hand: the model sees bright pixels in the drawn image.
    share = BrightPixels()(torch.from_numpy(image)).numpy()
    assert (share > -1.0).all()

    outcome = run_check(CheckOptions(model=str(onnx_file), paths="onnx>ort-optimized",
                                     report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {"onnx>ort-optimized": "agrees"}
    assert any(n.startswith(NOTE) for n in outcome.notes), outcome.notes
    assert not any(n.startswith("weak:") for n in outcome.notes)


def test_a_tflite_uint8_image_and_a_uint8_mask(tmp_path):
    import keras
    import tensorflow as tf

    image = keras.Input((8, 8, 3), dtype="uint8", name="image")
    mask = keras.Input((5,), dtype="uint8", name="attention_mask")
    bright = keras.ops.mean(keras.ops.cast(keras.ops.cast(image, "float32") > 204.0,
                                           "float32"), axis=(1, 2, 3))
    kept = keras.ops.sum(keras.ops.cast(mask, "float32"), axis=1)
    model = keras.Model([image, mask], keras.ops.stack([bright, kept], axis=1))
    path = tmp_path / "bright.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    spec = file_specs(path)[0]
    drawn = dict(zip(spec.attrs["input_names"], case_inputs(spec)))
    assert drawn["image"].max() >= 245  # drawn below 128 before
    assert set(np.unique(drawn["attention_mask"])) <= {0, 1}
    outcome = run_check(CheckOptions(model=str(path), paths="tflite>tf2onnx-tflite",
                                     report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {"tflite>tf2onnx-tflite": "agrees"}
    assert any(n.startswith(NOTE) for n in outcome.notes), outcome.notes
    assert not any(n.startswith("attention_mask: uint8") for n in outcome.notes)
