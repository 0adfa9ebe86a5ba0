"""Keras → TFLite (harness.converters.keras_tflite) on real TensorFlow and the LiteRT
interpreter: both routes keep a drawn case's numbers, and inputs and outputs are mapped by the
signature's names, which a positional reading gets wrong on a two-input, two-output model."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.converters import Artifact, ConvertOptions, get
from harness.core.strategies import sample
from harness.run.pipeline import Harness
from harness.runtimes import runner_for

pytest.importorskip("ai_edge_litert")
keras = pytest.importorskip("keras")


def two_way_model():
    """y0 = a - 2b, y1 = relu(b - a): inputs of one shape, so that only names tell them
    apart."""
    a = keras.Input((3,), name="input_0")
    b = keras.Input((3,), name="input_1")
    y0 = keras.layers.Subtract()([a, keras.layers.Rescaling(2.0)(b)])
    y1 = keras.layers.ReLU()(keras.layers.Subtract()([b, a]))
    return keras.Model([a, b], [y0, y1])


def test_inputs_and_outputs_are_mapped_by_name():
    model = two_way_model()
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)]
    expected = [np.asarray(y) for y in model(xs)]
    artifact = get("tflite").convert(Artifact("keras", model, ["input_0", "input_1"]),
                                     ConvertOptions())
    assert artifact.meta["tflite_inputs"] == ["input_0", "input_1"]
    got = runner_for("tflite").run(artifact, xs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-6)
    # The interpreter's own tensor order is not the model's: read by position it is wrong.
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=artifact.model)
    details = interpreter.get_input_details()
    for detail, x in zip(details, xs):
        interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    for detail, x in zip(details, xs):
        interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    positional = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    assert not all(p.shape == e.shape and np.allclose(p, e, atol=1e-6)
                   for p, e in zip(positional, expected))
    # A planted fault: the mapping swapped fails the comparison.
    swapped = Artifact("tflite", artifact.model, artifact.input_names,
                       {**artifact.meta, "tflite_inputs": ["input_1", "input_0"]})
    assert not np.allclose(runner_for("tflite").run(swapped, xs)[0], expected[0], atol=1e-3)


@pytest.mark.parametrize("path", ["keras>tflite", "keras>savedmodel>tflite-savedmodel"])
def test_both_routes_keep_a_drawn_case(path):
    spec = sample("Dense", 1)[0]
    verdicts = {leg.leg: leg.verdict for leg in Harness(path).run(spec).legs}
    assert verdicts[path] == "pass", verdicts


def test_a_refused_model_is_a_one_line_conversion_error():
    spec = next(s for s in sample("LSTM", 4) if s.attrs.get("unroll") is not True)
    (leg,) = [leg for leg in Harness("keras>tflite").run(spec).legs]
    assert leg.verdict in ("error", "xfail") and leg.category == "conversion_error", leg.message
    first = leg.message.splitlines()[0]
    assert first.startswith("tflite raised TfliteError: TFLiteConverter refused the model")
    assert "loc(" not in first, first


@pytest.mark.parametrize("path", ["keras>tflite>tf2onnx-tflite",
                                  "keras>savedmodel>tflite-savedmodel>tf2onnx-tflite"])
def test_tf2onnx_tflite_after_a_drawn_case_reads_its_inputs_and_outputs_by_name(path):
    """tf2onnx --tflite writes the flatbuffer's input order, which is not the case's: each
    TFLite artifact names its tensors, and the ONNX model's inputs are put in the case's order
    (read by position, x - y of one shape came out y - x)."""
    from harness.core.spec import LayerSpec

    spec = LayerSpec(kind="Subtract", attrs={}, input_shapes=((2, 3), (2, 3)),
                     dtype="float32", seed=5)
    artifact = get("tflite").convert(Artifact("keras", two_way_model(), ["input_0", "input_1"]),
                                     ConvertOptions())
    assert artifact.meta["input_tensors"] == ["serving_default_input_0:0",
                                              "serving_default_input_1:0"]
    verdicts = {leg.leg: (leg.verdict, leg.message) for leg in Harness(path).run(spec).legs}
    assert verdicts[path][0] == "pass", verdicts
