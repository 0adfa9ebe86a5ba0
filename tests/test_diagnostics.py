"""Per-layer diagnostics: a fault in one layer of one stage is found at that layer and stage.

The faults are real converters with one layer's weight scaled (tests/layer_faults.py); the
models, conversions and runtimes are real Keras, tf2onnx, onnxruntime and onnx2torch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness import converters
from harness.core.diagnose import align
from harness.core.spec import LayerSpec
from harness.sources.keras.diagnose import Tap, scope_owner, tap_tensors

STACK = [
    {"kind": "Conv2D", "attrs": {"filters": 3, "kernel_size": [3, 3], "padding": "same"}},
    {"kind": "ReLU", "attrs": {}},
    {"kind": "Conv2D", "attrs": {"filters": 2, "kernel_size": [3, 3]}},
    {"kind": "BatchNormalization", "attrs": {"epsilon": 0.001}},
    {"kind": "Flatten", "attrs": {}},
    {"kind": "Dense", "attrs": {"units": 4}},
    {"kind": "ReLU", "attrs": {}},
    {"kind": "Dense", "attrs": {"units": 3}},
]
LAYER_NAMES = ["n00_conv2d", "n01_relu", "n02_conv2d", "n03_batch_normalization",
               "n04_flatten", "n05_dense", "n06_relu", "n07_dense"]
# A stack, written as a functional chain: tf2onnx cannot convert a keras.Sequential model at
# all (onnx/tensorflow-onnx#2448), which would hide every per-layer fault behind that one.
CHAIN = [{**layer, "inputs": ["input_0" if i == 0 else i - 1]} for i, layer in enumerate(STACK)]
STACK_SPEC = LayerSpec("Functional", {"nodes": CHAIN, "outputs": [len(CHAIN) - 1]},
                       ((2, 6, 6, 2),), seed=3)


# -- the mapping, without frameworks -----------------------------------------------------------

@pytest.mark.parametrize("node, owner", [
    ("parity_sequential_1/n02_dense_1/MatMul", "n02_dense"),
    ("parity_sequential_1/n02_dense/BiasAdd", "n02_dense"),
    ("parity_sequential_1/conv1_1/Conv2D", "conv1_1"),  # an exact name beats a suffix
    ("parity_sequential_1/conv1_2/Conv2D", "conv1"),
    ("Transpose__22", None),
    ("parity_sequential_1/n02_dense_1x/MatMul", None),
])
def test_scope_owner(node, owner):
    assert scope_owner(node, {"n02_dense", "conv1", "conv1_1"}) == owner


def test_align_reads_channels_first_and_picks_the_closer_reading_when_ambiguous():
    rng = np.random.default_rng(0)
    nhwc = rng.normal(size=(1, 4, 5, 3))
    same, how = align(nhwc, nhwc.copy())
    assert how == "as is" and same is not None
    back, how = align(nhwc, nhwc.transpose(0, 3, 1, 2))
    assert how == "channels-first" and np.array_equal(back, nhwc)
    cube = rng.normal(size=(1, 3, 3, 3))
    back, how = align(cube, cube.transpose(0, 3, 1, 2))
    assert "ambiguous" in how and np.array_equal(back, cube)
    assert align(nhwc, np.zeros((1, 7)))[0] is None


def test_another_rank_fits_only_as_merged_leading_dimensions():
    """tf2onnx's Dense over a sequence computes on (batch * steps, features); a causal
    MultiHeadAttention's (batch, heads, steps, steps) weights hold as many numbers as its
    (batch, steps, features) output, and are not it."""
    sequence = np.arange(4 * 8 * 16, dtype=np.float32).reshape(4, 8, 16)
    merged, how = align(sequence, sequence.reshape(32, 16))
    assert how == "reshaped" and np.array_equal(merged, sequence)
    assert align(sequence[:1], sequence[:1].reshape(8, 16))[1] == "reshaped"  # batch 1 dropped
    assert align(sequence, np.zeros((4, 2, 8, 8), np.float32))[0] is None
    assert align(sequence, np.zeros((4, 128), np.float32))[0] is None


def test_an_error_from_layers_never_compared_names_them():
    """A causal MultiHeadAttention after tf2onnx's einsum rewrite leaves no tensor in its own
    name scope: where the first layer compared diverges and matches alone, the error was made
    by the layers between it and the last one compared, and the line names them rather than
    calling the error accumulated."""
    from harness.core.diagnose import summary

    growth = [{"layer": "embed", "kind": "Embedding", "mapped": True, "passed": True},
              {"layer": "mha", "kind": "MultiHeadAttention", "mapped": False},
              {"layer": "add", "kind": "Add", "mapped": True, "passed": False, "max_abs": 1.9}]
    diagnosis = {"layers": 3, "growth": growth, "first_divergence": growth[2],
                 "stage": "onnx2torch", "isolated": {"passed": True, "max_abs": 0.0}}
    line = summary("keras>tf2onnx>onnx2torch", diagnosis)
    assert line.endswith("the error comes from upstream, likely from layers the converted "
                         "model keeps no tensor of: mha (MultiHeadAttention)")
    growth[1].update(mapped=True, passed=True)
    assert summary("keras>tf2onnx>onnx2torch", diagnosis).endswith(
        "the error is accumulated from upstream")
    many = [{"layer": f"u{i}", "kind": "Dense", "mapped": False} for i in range(5)]
    diagnosis["growth"] = [growth[0], *many, growth[2]]
    assert summary("keras>tf2onnx>onnx2torch", diagnosis).endswith(
        "keeps no tensor of: u2 (Dense), u3 (Dense), u4 (Dense) (and 2 before them)")


def _graph(nodes, outputs):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    made = [helper.make_node("Relu", [i], [o], name=n) for n, i, o in nodes]
    return helper.make_model(helper.make_graph(
        made, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outputs]))


def test_tap_tensors_takes_the_tensor_that_leaves_each_scope():
    proto = _graph([
        ("m/n00_dense_1/MatMul", "x", "a"),
        ("m/n00_dense_1/BiasAdd", "a", "b"),
        ("Transpose__3", "b", "c"),  # a converter's own node, in no layer's scope
        ("m/n01_re_lu_1/Relu", "c", "d"),
    ], ["d"])
    taps = [Tap("n00_dense", "Dense"), Tap("n01_re_lu", "ReLU"), Tap("n02_fused", "Conv2D")]
    assert tap_tensors(proto, taps) == {"n00_dense": ["b"], "n01_re_lu": ["d"]}


def test_a_graph_output_named_after_a_layer_is_that_layers():
    # tf2onnx fused the last layer's activation into the node of the layer before it, and
    # named the graph output after the last layer.
    proto = _graph([("m/n00_dense_1/MatMul", "x", "a"), ("m/n00_dense_1/Relu", "a", "n01_relu")],
                   ["n01_relu"])
    taps = [Tap("n00_dense", "Dense"), Tap("n01_relu", "ReLU")]
    assert tap_tensors(proto, taps) == {"n01_relu": ["n01_relu"]}


def test_pick_takes_the_last_candidate_of_the_right_shape():
    from harness.core.diagnose import pick

    reference = np.zeros((1, 4, 4, 2))
    transposed_input = np.ones((1, 3, 8, 8))  # a converter's transpose left in the scope
    output = np.full((1, 2, 4, 4), 2.0)
    value, how = pick(reference, [output, transposed_input])
    assert how == "channels-first" and value.shape == (1, 4, 4, 2) and (value == 2).all()
    assert pick(reference, [transposed_input])[0] is None


# -- injected faults, with the real stack -------------------------------------------------------

tf = pytest.importorskip("tensorflow", reason="the diagnostics tests build Keras models")


@pytest.fixture(scope="module")
def faults():
    from tests.layer_faults import FaultyOnnx2Torch, FaultyTf2Onnx

    return FaultyTf2Onnx, FaultyOnnx2Torch


FAULTY_PATHS = "keras>tf2onnx-fault>onnx2torch,keras>tf2onnx>onnx2torch-fault"


@pytest.fixture(scope="module", params=["n00_conv2d", "n03_batch_normalization", "n07_dense"],
                ids=["first", "middle", "last"])
def faulty_run(request, faults):
    """One case down two paths, each with the same layer broken in a different stage."""
    from harness.run.pipeline import Harness

    layer = request.param
    upstream, downstream = faults
    converters.register(upstream(layer))
    converters.register(downstream(layer))
    try:
        yield layer, Harness(FAULTY_PATHS).run(STACK_SPEC)
    finally:
        converters.unregister("tf2onnx-fault")
        converters.unregister("onnx2torch-fault")


def test_the_stack_has_the_layer_names_the_faults_use():
    from harness.sources.keras.model import build_model

    model = build_model(STACK_SPEC)
    assert [layer.name for layer in model.layers][1:] == LAYER_NAMES


def _legs(case):
    return {leg.leg: leg for leg in case.legs}


def test_a_keras_to_onnx_fault_is_found_at_its_layer_and_stage(faulty_run):
    layer, case = faulty_run
    legs = _legs(case)
    for name in ("keras>tf2onnx-fault", "keras>tf2onnx-fault>onnx2torch"):
        leg = legs[name]
        assert leg.verdict == "fail", leg.message
        diagnosis = leg.diagnosis
        assert diagnosis["first_divergence"]["layer"] == layer
        assert diagnosis["stage"] == "tf2onnx-fault"
        assert diagnosis["isolated"]["passed"] is False
        assert f"{layer}" in diagnosis["summary"] and "conversion is wrong" in diagnosis["summary"]
    # Every layer before the broken one matches, and its own error is recorded.
    growth = legs["keras>tf2onnx-fault"].diagnosis["growth"]
    index = LAYER_NAMES.index(layer)
    assert all(row["passed"] for row in growth[:index] if row["mapped"])
    assert growth[index]["max_abs"] > 0.01


def test_an_onnx_to_torch_fault_is_found_at_its_layer_and_stage(faulty_run):
    layer, case = faulty_run
    legs = _legs(case)
    assert legs["keras>tf2onnx"].verdict == "pass"
    leg = legs["keras>tf2onnx>onnx2torch-fault"]
    assert leg.verdict == "fail"
    assert leg.diagnosis["first_divergence"]["layer"] == layer
    assert leg.diagnosis["stage"] == "onnx2torch-fault"
    assert leg.diagnosis["isolated"]["passed"] is False
    assert f"per layer: {leg.diagnosis['summary']}" in case.failure_message()


def test_the_report_names_the_layer_and_the_stage(faulty_run, tmp_path):
    from harness.report import load_results, write_html
    from harness.results import ResultWriter, result_records, run_record

    layer, case = faulty_run
    results = tmp_path / "results.jsonl"
    writer = ResultWriter(results)
    writer.write(run_record(run_id="r", shard="main", device="cpu", opset=17,
                            paths=FAULTY_PATHS.split(","), hypothesis={}, command="pytest"))
    writer.write_all(result_records(case, run_id="r", shard="main", device="cpu",
                                    test="test_diagnostics", hypothesis=None))
    writer.close()
    records = [json.loads(line) for line in results.read_text().splitlines()]
    diagnosed = [r for r in records if r.get("diagnosis")]
    assert {r["leg"] for r in diagnosed} == {
        "keras>tf2onnx-fault", "keras>tf2onnx-fault>onnx2torch", "keras>tf2onnx>onnx2torch-fault"}
    page = tmp_path / "parity.html"
    write_html(load_results([results]), page)
    html = page.read_text()
    assert f"first diverges at layer {LAYER_NAMES.index(layer) + 1}/8 {layer}" in html
    assert "introduced by stage onnx2torch-fault" in html
    assert "introduced by stage tf2onnx-fault" in html
    assert 'class="growth"' in html


def test_a_layer_that_converts_correctly_matches_alone():
    from harness.core.inputs import make_inputs
    from harness.run.pipeline import Harness
    from harness.sources.keras.diagnose import Diagnoser
    from harness.sources.keras.model import build_model

    harness = Harness("keras>tf2onnx>onnx2torch")
    model = build_model(STACK_SPEC)
    diagnoser = Diagnoser(harness, STACK_SPEC, model, make_inputs(STACK_SPEC))
    path = harness.paths[0]
    alone = diagnoser.isolate(path, "keras>tf2onnx>onnx2torch", "n03_batch_normalization")
    assert alone["passed"] is True and alone["max_abs"] < 1e-4


def test_a_layer_re_run_alone_is_called_as_the_model_called_it():
    """MultiHeadAttention(h, h, use_causal_mask=True): one tensor as query and value, and a
    keyword that is not a tensor. Re-run alone on one input (the old call) it lacked its
    value; without the keyword it would attend to every step and match nothing."""
    import keras

    from harness.sources.keras.diagnose import capture_keras, single_layer_model

    keras.utils.set_random_seed(0)
    tokens = keras.Input((5, 8), name="tokens")
    hidden = keras.layers.Dense(8, name="project")(tokens)
    attended = keras.layers.MultiHeadAttention(2, 4, name="attention")(
        hidden, hidden, use_causal_mask=True)
    model = keras.Model(tokens, keras.layers.Add(name="residual")([hidden, attended]))
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    captured = capture_keras(model, [x])
    assert len(captured.layer_inputs["attention"]) == 1  # h once
    alone = single_layer_model(model.get_layer("attention"), captured.layer_inputs["attention"],
                               captured.calls["attention"])
    np.testing.assert_allclose(np.asarray(alone(captured.layer_inputs["attention"][0])),
                               captured.values["attention"], rtol=1e-5, atol=1e-6)
    # An Add of two tensors keeps taking them as its list.
    added = single_layer_model(model.get_layer("residual"), captured.layer_inputs["residual"],
                               captured.calls["residual"])
    np.testing.assert_allclose(np.asarray(added(captured.layer_inputs["residual"])),
                               captured.values["residual"], rtol=1e-6)
