""".tflite files as a source (issue 48), on files written here as their writers write them:
the TFLite converter from a small Keras CNN (float32, and with float16 weights) and onnx2tf
from an ONNX CNN. LiteRT through the file's signature runner is the reference; the legs are
tf2onnx --tflite, then onnxruntime and the torch converters."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("onnx2torch")

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckError, CheckOptions, run_check  # noqa: E402
from harness.check.render import text  # noqa: E402
from harness.converters import Artifact, ConvertOptions, get, onnx2tf_install  # noqa: E402
from harness.runtimes.litert import LiteRtRunner  # noqa: E402
from harness.sources import file as files  # noqa: E402

LEGS = ["tflite>tf2onnx-tflite", "tflite>tf2onnx-tflite>onnx2torch",
        "tflite>tf2onnx-tflite>onnx2pytorch", "tflite>tf2onnx-tflite>ort-optimized"]
BIAS_ISSUE = "tf2onnx-tflite-fully-connected-drops-bias"


@pytest.fixture(scope="module")
def keras_cnn():
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(5, activation="softmax", name="probs")(x))


def converted(model, path, float16: bool = False) -> str:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    path.write_bytes(converter.convert())
    return str(path)


@pytest.mark.parametrize("float16", [False, True], ids=["float32", "float16-weights"])
def test_a_keras_cnn_written_by_the_tflite_converter_is_checked_end_to_end(
        tmp_path, keras_cnn, float16):
    model = converted(keras_cnn, tmp_path / "cnn.tflite", float16)
    assert files.detect(model) == "tflite"
    outcome = run_check(CheckOptions(model=model, report=None))
    assert outcome.exit_code == 0, text(outcome)
    assert [row.leg for row in outcome.rows] == LEGS
    assert all(row.verdict == "agrees" for row in outcome.rows)
    assert outcome.sizes == [[[4, 16, 16, 3]], [[1, 16, 16, 3]]]  # the batch is free
    assert outcome.notes[0] == ("read by LiteRT through its 'serving_default' signature runner "
                                "(image -> output_0)")
    reference = outcome.cases[0].legs[0].metrics
    assert reference["shape"] == [4, 5]


def int8_file(tmp_path):
    """A Keras CNN fully quantized to int8 by the TFLite converter, int8 in and out."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(image))
    model = keras.Model(image, keras.layers.Dense(5, name="logits")(x))

    def calibration():
        for seed in range(4):
            yield [np.random.default_rng(seed).normal(size=(1, 8, 8, 3)).astype("float32")]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (tmp_path / "int8.tflite").write_bytes(converter.convert())
    return tmp_path / "int8.tflite"


def test_a_fully_int8_quantized_file_is_fed_integers_and_compared_exactly(tmp_path):
    int8_file(tmp_path)
    outcome = run_check(CheckOptions(model=str(tmp_path / "int8.tflite"), report=None,
                                     paths="tflite>tf2onnx-tflite>ort-optimized"))
    assert "quantized inputs (image): drawn over the whole of int8 [-128, 127], which the " \
           "file's quantization maps onto the range it was calibrated on" in outcome.notes
    (x,) = files.case_inputs(outcome.cases[0].spec)
    # the whole range, which calibration maps onto: [0, 128) alone is half of it
    assert x.dtype == np.int8 and x.min() < -100 and x.max() > 100
    from harness.check.strength import CONSTANT

    assert not [f.text for f in outcome.strength if f.kind == CONSTANT]
    rows = {row.leg: row for row in outcome.rows}
    assert rows["tflite>tf2onnx-tflite"].comparison == "exact (int8)"
    assert all(row.verdict == "agrees" for row in rows.values()), text(outcome)


def test_a_tflite_file_without_signatures_is_refused_with_what_to_do(tmp_path):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
    def double(x):
        return 2.0 * x

    flat = tf.lite.TFLiteConverter.from_concrete_functions(
        [double.get_concrete_function()], double).convert()
    (tmp_path / "bare.tflite").write_bytes(flat)
    with pytest.raises(CheckError, match="a TFLite file with no signature: parity reads a "
                                         ".tflite by its signature runner"):
        run_check(CheckOptions(model=str(tmp_path / "bare.tflite"), report=None))


@pytest.mark.skipif(onnx2tf_install.record() is None,
                    reason="onnx2tf is not installed here: `parity install onnx2tf`")
def test_an_onnx2tf_tflite_file_is_checked_and_meets_the_fully_connected_bias_issue(tmp_path):
    """onnx2tf's float32 file of an ONNX CNN (GlobalAveragePool > Flatten > Gemm): LiteRT
    runs it as the ONNX model computes; tf2onnx --tflite drops its dense layer's bias."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("GlobalAveragePool", ["r"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "D", "E"], ["y"])],
        "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype("float32"), "W"),
         numpy_helper.from_array(rng.normal(size=(4,)).astype("float32"), "B"),
         numpy_helper.from_array(rng.normal(size=(4, 5)).astype("float32"), "D"),
         numpy_helper.from_array(rng.normal(size=(5,)).astype("float32"), "E")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    written = get("onnx2tf-tflite").convert(Artifact("onnx", model, ["x"]), ConvertOptions())
    path = tmp_path / "onnx2tf.tflite"
    path.write_bytes(bytes(written.model))

    outcome = run_check(CheckOptions(model=str(path), report=None))
    assert outcome.description == "a TFLite model; inputs 1x16x16x3"  # NHWC, as onnx2tf writes
    rows = {row.leg: row for row in outcome.rows}
    assert list(rows) == LEGS
    assert all(row.verdict == "differs" and row.known_issue["id"] == BIAS_ISSUE
               for row in rows.values())
    # The reference is right: LiteRT on the file computes what the ONNX model computes,
    # and tf2onnx's ONNX is off by exactly the Gemm's bias.
    (x,) = files.case_inputs(outcome.cases[0].spec)
    expected = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(
        None, {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
    reading = LiteRtRunner().run(Artifact("tflite", bytes(written.model), ["x"], {
        "signature": "serving_default", "tflite_inputs": ["x"], "tflite_outputs": ["y"]}), [x])
    assert np.allclose(reading[0], expected, atol=1e-4)
    bias = numpy_helper.to_array(graph.initializer[3])
    assert rows["tflite>tf2onnx-tflite"].max_abs == pytest.approx(float(np.abs(bias).max()),
                                                                  rel=1e-4)


def test_a_stacked_rnn_meets_tf2onnx_tflites_rank_zero_loop_input(tmp_path):
    """The second RNN of a stacked pair reads the first's sequence inside tf2onnx's Loop,
    declared rank 0; one RNN alone converts."""
    import keras

    def rnn_file(name, first):
        keras.utils.set_random_seed(0)
        series = keras.Input((6, 4), batch_size=1, name="series")
        model = keras.Model(series, keras.layers.GRU(5, name="gru")(first(series)))
        return converted(model, tmp_path / f"{name}.tflite")

    stacked = rnn_file("stacked", keras.layers.LSTM(8, return_sequences=True))
    rows = {row.leg: row for row in run_check(CheckOptions(model=stacked, report=None)).rows}
    for leg in ("tflite>tf2onnx-tflite", "tflite>tf2onnx-tflite>ort-optimized"):
        assert (rows[leg].known_issue or {}).get("id") == \
            "tf2onnx-tflite-stacked-rnn-loop-body-rank-zero", (leg, rows[leg].message)
    single = rnn_file("single", keras.layers.Dense(8))
    (row,) = run_check(CheckOptions(model=single, report=None,
                                    paths="tflite>tf2onnx-tflite")).rows
    assert row.verdict == "agrees"


def test_a_signature_of_another_subgraph_is_not_tf2onnxs_to_convert(tmp_path):
    """Two signatures gathering from tables of 500 and 3 rows: the TFLite converter writes
    them as two subgraphs, and tf2onnx --tflite converts the first alone. The other
    signature's legs are not applicable (they compared the first signature's model, and
    failed on its 3-row table), and the first's are judged, its ids drawn below 3 from its
    own subgraph, never from another's tensors of the same index."""
    import tensorflow as tf

    class TwoTables(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.big = tf.Variable(rng.normal(size=(500, 4)), dtype=tf.float32)
            self.small = tf.Variable(rng.normal(size=(3, 4)), dtype=tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
        def encode(self, ids):
            return {"y": tf.gather(self.big, ids)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
        def classify(self, ids):
            return {"y": tf.gather(self.small, ids)}

    module = TwoTables()
    tf.saved_model.save(module, str(tmp_path / "two"), signatures={
        "encode": module.encode.get_concrete_function(),
        "classify": module.classify.get_concrete_function()})
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(tmp_path / "two"), signature_keys=["encode", "classify"])
    (tmp_path / "two.tflite").write_bytes(converter.convert())
    model = str(tmp_path / "two.tflite")

    from ai_edge_litert.interpreter import Interpreter

    subgraphs = {name: Interpreter(model_path=model).get_signature_runner(name)._subgraph_index
                 for name in ("encode", "classify")}
    other = next(name for name, index in subgraphs.items() if index)
    first = next(name for name, index in subgraphs.items() if not index)

    outcome = run_check(CheckOptions(model=model, signature=other, report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == dict.fromkeys(LEGS,
                                                                           "not applicable")
    said = next(row for row in outcome.rows if row.leg == LEGS[0]).message
    assert f"signature {other!r} runs subgraph {subgraphs[other]}" in said
    assert not any(n.startswith("ids: indices") for n in outcome.notes)

    outcome = run_check(CheckOptions(model=model, signature=first, report=None))
    assert {row.leg: row.verdict for row in outcome.rows} == dict.fromkeys(LEGS, "agrees")
    bound = 3 if first == "classify" else 500
    assert f"ids: indices in [0, {bound}) (feeds GATHER " in " ".join(outcome.notes)


def test_the_onnx_tf2onnx_makes_of_an_int8_file_is_fed_its_whole_range(tmp_path):
    """tf2onnx --tflite keeps the int8 input and reads it (after a Transpose to channels
    first) with a DequantizeLinear: the ONNX file is as quantized as the TFLite one, and
    drawn over the whole of int8 as it is (below 2 before: zero-point noise)."""
    from tf2onnx import convert

    proto, _ = convert.from_tflite(str(int8_file(tmp_path)), opset=17)
    (tmp_path / "int8.onnx").write_bytes(proto.SerializeToString())
    (name,) = [i.name for i in proto.graph.input]
    assert proto.graph.input[0].type.tensor_type.elem_type == TensorProto.INT8
    assert "DequantizeLinear" in [n.op_type for n in proto.graph.node]

    outcome = run_check(CheckOptions(model=str(tmp_path / "int8.onnx"), report=None,
                                     paths="onnx>ort-optimized"))
    assert (f"quantized inputs ({name}): drawn over the whole of int8 [-128, 127], which the "
            f"file's quantization maps onto the range it was calibrated on") in outcome.notes
    (x,) = files.case_inputs(outcome.cases[0].spec)
    assert x.dtype == np.int8 and x.min() < -100 and x.max() > 100
    assert all(row.verdict == "agrees" for row in outcome.rows), text(outcome)
