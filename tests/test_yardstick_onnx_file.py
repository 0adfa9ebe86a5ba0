"""The float64 yardstick of a user's ONNX file (``parity check model.onnx``): the graph written
again in float64 (``harness.sources.file.onnx_float64``), read by onnxruntime where it has a
float64 kernel for every node, else by onnx's reference evaluator within a budget; each leg
then judged against onnxruntime's own float32 error, as a Keras file's legs are against
Keras'."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
pytest.importorskip("onnx2torch")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness import converters  # noqa: E402
from harness.core import yardstick  # noqa: E402
from harness.core.tolerance import Rule, TolerancePolicy  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
from harness.sources import file as files  # noqa: E402
from harness.sources.file import onnx_float64  # noqa: E402
from tests.fakes import onnx_rewrite  # noqa: E402

ONNX2TORCH = "onnx>onnx2torch"
FAULT = "weight-times-1.001"


def saved(path, nodes, inputs, outputs, initializers, opset=17):
    graph = helper.make_graph(nodes, "model", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path


def tensor(rng, name, shape, scale=1.0):
    return numpy_helper.from_array((scale * rng.standard_normal(shape)).astype(np.float32), name)


def small_cnn(path):
    """Conv, Relu, global average pooling and a 10-logit Gemm: onnxruntime has no float64
    Conv, so the evaluator reads it."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "D", "b"], ["y"], transB=1)]
    return saved(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             [2, 3, 8, 8])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 10])],
                 [tensor(rng, "W", (6, 3, 3, 3)), tensor(rng, "B", (6,)),
                  tensor(rng, "D", (10, 6)), tensor(rng, "b", (10,))])


def small_mlp(path):
    """Gemm, Tanh, MatMul, Add: onnxruntime reads all of it in float64."""
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["h"]),
             helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("MatMul", ["t", "V"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["y"])]
    return saved(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 5])],
                 [tensor(rng, "W", (16, 32)), tensor(rng, "B", (32,)),
                  tensor(rng, "V", (32, 5)), tensor(rng, "b", (5,))])


def read(path):
    spec = files.file_specs(path)[0]
    return spec, files.FileSource().read(spec, policy=TolerancePolicy())


def legs(path, leg, *, atol=1e-4, rtol=1e-3):
    """The file's case down ``leg``, judged by the check's file rule (or ``atol``/``rtol``)."""
    policy = TolerancePolicy(rules=[Rule(atol, rtol, source="file", reason="test")])
    result = Harness(leg, policy=policy, known_issues=[], diagnose=False).run(
        files.file_specs(path)[0])
    return {found.leg: found for found in result.legs}


def test_an_mlp_file_is_recomputed_in_float64(tmp_path):
    path = small_mlp(tmp_path / "mlp.onnx")
    spec, reading = read(path)
    (y64,) = reading.yardstick
    assert y64.dtype == np.float64
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64)
               for t in onnx.load(path).graph.initializer}
    x = reading.inputs[0].astype(np.float64)
    expected = np.tanh(x @ weights["W"] + weights["B"]) @ weights["V"] + weights["b"]
    np.testing.assert_allclose(y64, expected, rtol=1e-13, atol=1e-13)
    assert 0 < float(np.abs(reading.reference[0] - y64).max()) < 1e-5
    assert yardstick.missing_reason(spec) is None


def test_a_cnn_file_is_recomputed_in_float64_by_the_evaluator(tmp_path):
    path = small_cnn(tmp_path / "cnn.onnx")
    spec, reading = read(path)
    (y64,) = reading.yardstick
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64))
               for t in onnx.load(path).graph.initializer}
    x = torch.from_numpy(reading.inputs[0].astype(np.float64))
    hidden = torch.relu(torch.nn.functional.conv2d(x, weights["W"], weights["B"], padding=1))
    expected = hidden.mean(dim=(2, 3)) @ weights["D"].T + weights["b"]
    np.testing.assert_allclose(y64, expected.numpy(), rtol=1e-12, atol=1e-12)
    assert 0 < float(np.abs(reading.reference[0] - y64).max()) < 1e-5
    assert yardstick.missing_reason(spec) is None


def test_a_correct_leg_beyond_a_zero_tolerance_passes_by_the_yardstick(tmp_path):
    leg = legs(small_cnn(tmp_path / "cnn.onnx"), ONNX2TORCH, atol=0.0, rtol=0.0)[ONNX2TORCH]
    assert leg.metrics["max_abs"] > 0  # torch rounds otherwise than onnxruntime
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "yardstick"
    assert leg.metrics["yardstick"]["ratio"] <= yardstick.K


def scaled_first_weight(model) -> None:
    weight = model.graph.initializer[0]
    value = numpy_helper.to_array(weight) * np.float32(1.001)
    weight.CopyFrom(numpy_helper.from_array(value.astype(np.float32), weight.name))


def test_a_wrong_leg_is_not_rescued(tmp_path):
    path = small_cnn(tmp_path / "cnn.onnx")
    converters.register(onnx_rewrite(FAULT, scaled_first_weight))
    try:
        leg = legs(path, f"onnx>{FAULT}", atol=0.0, rtol=0.0)[f"onnx>{FAULT}"]
    finally:
        converters.unregister(FAULT)
    assert leg.verdict == "fail"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] > 100 * yardstick.K


def test_beyond_the_evaluator_budget_only_onnxruntime_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_float64, "EVALUATOR_BUDGET", 1e-9)
    spec, reading = read(small_mlp(tmp_path / "mlp.onnx"))
    assert reading.yardstick is not None  # onnxruntime's float64 kernels: no budget
    spec, reading = read(small_cnn(tmp_path / "cnn.onnx"))
    assert reading.yardstick is None
    why = yardstick.missing_reason(spec)
    assert "onnxruntime cannot run the model in float64" in why
    assert "no float64 kernel for Conv(11)" in why and "budget" in why


def read_widened(path, doubles, singles):
    """The file's float64 reading, after checking the widened graph's types: ``doubles``
    float64, ``singles`` as the file has them."""
    wide = onnx_float64.widened(onnx.load(path))
    onnx.checker.check_model(wide, full_check=True)
    types = {v.name: v.type.tensor_type.elem_type
             for v in onnx.shape_inference.infer_shapes(wide).graph.value_info}
    assert {name: types[name] for name in doubles} == dict.fromkeys(doubles, TensorProto.DOUBLE)
    original = {v.name: v.type.tensor_type.elem_type
                for v in onnx.shape_inference.infer_shapes(onnx.load(path)).graph.value_info}
    assert {name: types[name] for name in singles} == {name: original[name] for name in singles}
    spec, reading = read(path)
    assert reading.yardstick is not None, yardstick.missing_reason(spec)
    (y64,) = reading.yardstick
    assert y64.dtype == np.float64
    assert yardstick.distance([y64], reading.reference) < 1e-5


def test_float32_attributes_and_operands_are_widened_or_cast_back(tmp_path):
    """A Resize's scales have no float64 type in its schema (cast back to float32 before
    it); a Constant's value_float, a Cast to float32 and a LayerNormalization's stash_type are
    float32 by their attributes (made float64). onnxruntime has no float64 Resize, so the
    evaluator reads it."""
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="linear"),
        helper.make_node("Constant", [], ["half"], value_float=0.5),
        helper.make_node("Mul", ["r", "half"], ["m"]),
        helper.make_node("Cast", ["m"], ["c"], to=TensorProto.FLOAT),
        helper.make_node("LayerNormalization", ["c", "g"], ["y"], axis=-1, stash_type=1),
    ]
    path = saved(tmp_path / "resize.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])],
                 [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
                  tensor(rng, "g", (8,))])
    read_widened(path, doubles=["r", "half", "m", "c"], singles=[])


def test_a_quantize_dequantize_pair_computes_in_float32_between_float64(tmp_path):
    """A QuantizeLinear's input and scale, a DequantizeLinear's scale and output have no
    float64 type at opset 17: the quantized values are the file's, the rest float64 (read by
    onnxruntime)."""
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["m"]),
        helper.make_node("QuantizeLinear", ["m", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"]),
        helper.make_node("Add", ["d", "m"], ["y"]),
    ]
    path = saved(tmp_path / "qdq.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])],
                 [tensor(rng, "W", (4, 5)), numpy_helper.from_array(np.float32(0.05), "s"),
                  numpy_helper.from_array(np.uint8(128), "z")])
    read_widened(path, doubles=["m", "d"], singles=["q"])


def test_an_if_branch_is_widened_and_cast_as_the_main_graph_is(tmp_path):
    """A Resize inside an If's branch: its scales are cast back to float32 there too."""
    branch = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="linear"),
         helper.make_node("Constant", [], ["k"], value_float=2.0),
         helper.make_node("Mul", ["r", "k"], ["up"])],
        "then", [], [helper.make_tensor_value_info("up", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    other = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales2"], ["up2"], mode="nearest")],
        "else", [], [helper.make_tensor_value_info("up2", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales2")])
    nodes = [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
             helper.make_node("Greater", ["total", "zero"], ["positive"]),
             helper.make_node("If", ["positive"], ["y"], then_branch=branch, else_branch=other)]
    path = saved(tmp_path / "branch.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])],
                 [numpy_helper.from_array(np.float32(-1e9), "zero")])
    wide = onnx_float64.widened(onnx.load(path))
    then = next(a.g for a in wide.graph.node[-1].attribute if a.name == "then_branch")
    assert [n.op_type for n in then.node][:2] == ["Cast", "Resize"]
    read_widened(path, doubles=["total"], singles=["positive"])


def test_a_model_float32_cannot_compute_has_no_yardstick(tmp_path):
    """(x + 1e8) - 1e8 is x in float64 and float32's rounding of it: not the same
    computation, so the tolerance alone judges it."""
    nodes = [helper.make_node("Add", ["x", "big"], ["s"]),
             helper.make_node("Sub", ["s", "big"], ["y"])]
    path = saved(tmp_path / "cancel.onnx", nodes,
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])],
                 [numpy_helper.from_array(np.float32(1e8), "big")])
    spec, reading = read(path)
    assert reading.yardstick is None
    assert "not the same computation" in yardstick.missing_reason(spec)


def test_initializers_listed_as_inputs_are_not_fed(tmp_path):
    """keep_initializers_as_inputs (IR 3's way, and an option of torch.onnx.export): the
    weights are graph inputs too, before or after the data (the evaluator reads a CNN, and is
    fed by name)."""
    path = small_cnn(tmp_path / "cnn.onnx")
    model = onnx.load(path)
    weights = [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims))
               for t in model.graph.initializer]
    data = list(model.graph.input)
    del model.graph.input[:]
    model.graph.input.extend([*weights[:2], *data, *weights[2:]])
    onnx.save(model, tmp_path / "listed.onnx")
    spec, reading = read(tmp_path / "listed.onnx")
    assert reading.yardstick is not None, yardstick.missing_reason(spec)
    assert yardstick.distance(reading.yardstick, reading.reference) < 1e-5


def test_an_mlp_file_legs_carry_the_yardstick(tmp_path):
    leg = legs(small_mlp(tmp_path / "mlp.onnx"), "onnx>ort-optimized")["onnx>ort-optimized"]
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] <= yardstick.K
    assert "yardstick_missing" not in leg.metrics


def pooling(op, rank, dtype, **attributes):
    shape = [2, 3, *([7, 6, 5][:rank])]
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"], **attributes)], "pool",
                              [helper.make_tensor_value_info("x", dtype, shape)],
                              [helper.make_tensor_value_info("y", dtype, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, shape


POOLINGS = [(op, rank, kernel, stride, pads, include)
            for op in ("MaxPool", "AveragePool") for rank in (1, 2, 3) for kernel in (1, 2, 3)
            for stride in (1, 2) for pads in ("none", "both", "end", "valid")
            for include in ((0,) if op == "MaxPool" else (0, 1))]


@pytest.mark.parametrize("op, rank, kernel, stride, pads, include", POOLINGS)
def test_the_fast_poolings_read_as_onnxruntime_does(op, rank, kernel, stride, pads, include):
    """The evaluator's own loops fail some of these (a MaxPool padded at both ends) and
    return a shorter output for others: onnxruntime's float32 reading is the judge."""
    from onnx.reference import ReferenceEvaluator

    from harness.converters import Artifact
    from harness.runtimes.onnxruntime import OnnxRuntimeRunner
    from harness.sources.file.fast_pools import kernels

    attributes = {"kernel_shape": [kernel] * rank, "strides": [stride] * rank}
    if pads == "valid":
        attributes["auto_pad"] = "VALID"
    elif pads != "none":
        ends = [min(1, kernel - 1)] * rank
        attributes["pads"] = (ends if pads == "both" else [0] * rank) + ends
    if op == "AveragePool":
        attributes["count_include_pad"] = include
    model32, shape = pooling(op, rank, TensorProto.FLOAT, **attributes)
    model64, _ = pooling(op, rank, TensorProto.DOUBLE, **attributes)
    x = np.random.default_rng(rank * 100 + kernel * 10 + stride).standard_normal(shape)
    x32 = x.astype(np.float32)
    (expected,) = OnnxRuntimeRunner().run(Artifact("onnx", model32, ["x"], {}), [x32])
    (y,) = ReferenceEvaluator(model64, new_ops=list(kernels())).run(None, {"x": x32.astype(np.float64)})
    assert y.dtype == np.float64 and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_the_evaluators_time_is_estimated_from_its_products_and_poolings(tmp_path):
    model = onnx.load(small_cnn(tmp_path / "cnn.onnx"))
    x = np.zeros((2, 3, 8, 8), np.float32)
    conv = 2 * 6 * 8 * 8 * (3 * 3 * 3)
    gemm = 2 * 10 * 6
    rates = onnx_float64.RATES
    assert onnx_float64.evaluator_seconds(model, [x]) == pytest.approx(
        conv / rates["Conv"] + gemm / rates["Gemm"])
    pool = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    assert onnx_float64.node_work(pool, {"x": [2, 3, 9, 9], "y": [2, 3, 4, 4]}) == 2 * 3 * 16 * 9
