"""Image models that scale their own pixels, as their writers export them: a Keras model with
``Rescaling(1/255)`` inside, converted by tf2onnx (a Mul by 1/255 after a Transpose) or
exported by Keras 3 (``model.export``: no Keras layers left), a torch module that divides by
255, a TFLite file whose MUL the converter kept. Such an input is drawn as raw pixels,
integer-valued in [0, 255], as the Keras file's own Rescaling already was: drawn N(0, 1), the
model saw pixels of about 0 +- 0.004, a near-black image, and every error was some 100 times
smaller than on the images its users feed it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.sources.file import case_inputs, file_specs  # noqa: E402


def image_graph(path, scale_op: str, by: float):
    """An NHWC image input, transposed to NCHW, scaled by ``by`` (``scale_op``: Mul or Div),
    then a 3x3 convolution and a ReLU, as tf2onnx writes a Keras Rescaling > Conv2D."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node(scale_op, ["nchw", "by"], ["scaled"], name="rescaling"),
        helper.make_node("Conv", ["scaled", "w"], ["conv"]),
        helper.make_node("Relu", ["conv"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "image", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                       [None, 8, 8, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4, 6, 6])],
        [numpy_helper.from_array(np.array(by, np.float32), "by"),
         numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    path.write_bytes(model.SerializeToString())
    return path


def is_pixels(x: np.ndarray) -> bool:
    return bool(x.min() >= 0 and x.max() <= 255 and x.max() > 64
                and np.array_equal(x, np.round(x)))


@pytest.mark.parametrize("scale_op, by", [("Mul", 1 / 255), ("Div", 255.0), ("Mul", 1 / 127.5)],
                         ids=["tf2onnx-mul", "torch-div", "minus-one-to-one"])
def test_an_onnx_graph_that_rescales_its_image_input_is_fed_pixels(tmp_path, scale_op, by):
    path = image_graph(tmp_path / "image.onnx", scale_op, by)
    (image,) = case_inputs(file_specs(path)[0])
    assert image.dtype == np.float32 and is_pixels(image), image
    outcome = run_check(CheckOptions(model=str(path), paths="onnx>ort-optimized", report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == {"onnx>ort-optimized": "agrees"}
    assert any(n.startswith(f"image: raw pixels in [0, 255] (feeds {scale_op} 'rescaling'")
               for n in outcome.notes), outcome.notes


def test_a_scale_that_is_no_pixel_scale_is_left_alone(tmp_path):
    path = image_graph(tmp_path / "half.onnx", "Mul", 0.5)
    (image,) = case_inputs(file_specs(path)[0])
    assert image.min() < 0 and not np.array_equal(image, np.round(image))


def test_a_keras_export_and_its_tflite_file_are_fed_pixels(tmp_path):
    """Keras 3's ``model.export`` SavedModel (a Mul in the frozen graph), and the TFLite file
    the converter makes of a model whose Rescaling it cannot fold into a convolution."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Activation("tanh")(keras.layers.Rescaling(1 / 255)(image))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x))
    model = keras.Model(image, keras.layers.Dense(2)(x))
    model.export(tmp_path / "exported", verbose=False)
    (tmp_path / "model.tflite").write_bytes(
        tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "exported")).convert())

    for path, leg in ((tmp_path / "exported", "savedmodel>tflite-savedmodel"),
                      (tmp_path / "model.tflite", "tflite>tf2onnx-tflite")):
        (drawn,) = case_inputs(file_specs(path)[0])
        assert is_pixels(drawn), (path, drawn)
        outcome = run_check(CheckOptions(model=str(path), paths=leg, report=None))
        assert {row.leg: row.verdict for row in outcome.rows} == {leg: "agrees"}
        assert any("raw pixels in [0, 255] (feeds Mul '" in n and "scale 1/255" in n
                   for n in outcome.notes), outcome.notes
