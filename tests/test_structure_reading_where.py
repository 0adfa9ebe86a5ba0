"""The nightly profile's seeds 7 and 11 over every ONNX op found disagreements of the
source's own readings (onnxruntime, onnx's reference evaluator) and of two converters, each
read by hand (harness/known_issues.d/onnx-seeds.toml). Those about a value a node holds claim
a mismatch only where the node holds it (``where``, harness/core/structure/); these tests
hold each check against the real onnxruntime, evaluator, onnx2pytorch and tf2onnx."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core import known_issues, structure
from harness.run.pipeline import Harness

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

ENTRIES = {issue.id: issue for issue in known_issues.load()}
RESIZE = "onnxruntime-resize-nearest-floor-whole-coordinate"
SHAPE = "onnx-reference-shape-end-not-clamped"
CAST = "onnxruntime-cpu-float16-cast-cancelled"
EPSILON = "onnx2pytorch-default-epsilon-as-float64"
PARTIAL_SUMS = "onnx-reference-float16-partial-sums"


def model(nodes, inputs, initializers=(), opset=19):
    graph = helper.make_graph(nodes, "g", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=9)


def resize(length: int, out: int, mode: str, nearest: str = "floor"):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                            nearest_mode=nearest, coordinate_transformation_mode=mode)
    return model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                        [1, 1, 1, length])],
                 [helper.make_tensor("sizes", TensorProto.INT64, [4], [1, 1, 1, out])])


def readings(m, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    runtime = ort.InferenceSession(m.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    return runtime, ReferenceEvaluator(m).run(None, {"x": x})[0]


MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "asymmetric",
         "align_corners")


@pytest.mark.parametrize("mode", MODES)
def test_every_floor_resize_that_disagrees_holds_a_whole_coordinate(mode):
    """Over every length 1 to 9 resized to 1 to 9, a floor Resize on which onnxruntime and
    the evaluator disagree holds a whole source coordinate (the entry claims it), and the
    check does not hold on every case (it would claim any fault of the op)."""
    disagree, held = [], []
    for length, out in itertools.product(range(1, 10), repeat=2):
        m = resize(length, out, mode)
        x = np.arange(1, length + 1, dtype=np.float32).reshape(1, 1, 1, length)
        runtime, evaluator = readings(m, x)
        holds = structure.holds(ENTRIES[RESIZE].where, m, None)
        held.append(holds)
        if not np.array_equal(runtime, evaluator):
            disagree.append((length, out, holds))
    assert all(holds for *_, holds in disagree), disagree
    assert not all(held)


def test_the_resize_check_reads_scales_and_leaves_other_modes_alone():
    """A scale of 1/2 (exact in float32) puts asymmetric's coordinates on whole pixels; a
    round_prefer_floor Resize is not the bug's; a scale fed at run time cannot be read, so
    the check holds and the message decides."""
    by_scales = model(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                          nearest_mode="floor", coordinate_transformation_mode="asymmetric")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 4])],
        [numpy_helper.from_array(np.array([1, 1, 1, 0.5], np.float32), "scales")])
    assert structure.resize_nearest_floor_on_a_whole_coordinate(by_scales, None)
    assert not structure.resize_nearest_floor_on_a_whole_coordinate(
        resize(7, 1, "half_pixel", "round_prefer_floor"), None)
    assert not structure.resize_nearest_floor_on_a_whole_coordinate(
        resize(7, 2, "half_pixel"), None)  # coordinates 1.25 and 4.75
    fed = model(
        [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                          nearest_mode="floor")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 4]),
         helper.make_tensor_value_info("sizes", TensorProto.INT64, [4])])
    assert structure.resize_nearest_floor_on_a_whole_coordinate(fed, None)


def test_a_floor_resize_without_a_whole_coordinate_is_no_known_issue():
    """The entry's own minimal spec at 7 to 2 pixels: no whole coordinate, so a mismatch
    there (a fault in onnxruntime's Resize) fails the leg."""
    issue = ENTRIES[RESIZE]
    spec = issue.minimals[0]
    twin = dataclasses.replace(spec, attrs={**spec.attrs, "operands": [
        "in", "", "", {"const": [1, 1, 1, 2], "dtype": "int64"}]})
    received = Harness("onnx>ort-optimized").read_source(twin).artifact
    assert not issue.matches_failure("numeric_mismatch", "not close", (received, None))


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_the_shape_check_holds_exactly_where_the_evaluator_disagrees(rank):
    """Every end from -3 rank to rank: the evaluator's Shape differs from onnxruntime's
    exactly where the check holds (-2 rank < end < -rank)."""
    for end in range(-3 * rank, rank + 1):
        node = helper.make_node("Shape", ["x"], ["y"], end=end)
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2] * rank)],
            [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=9)
        x = np.zeros([2] * rank, np.float32)
        runtime, evaluator = readings(m, x)
        disagree = runtime.shape != evaluator.shape or not np.array_equal(runtime, evaluator)
        assert disagree == structure.holds(ENTRIES[SHAPE].where, m, None), (end, runtime,
                                                                            evaluator)


def cast_chain(middle: str, back_to_float: bool = True):
    nodes = [helper.make_node("Cast", ["x"], ["half"], to=TensorProto.FLOAT16)]
    if middle:
        nodes.append(helper.make_node(middle, ["half"], ["mid"]))
    last = "mid" if middle else "half"
    nodes.append(helper.make_node("Cast", [last], ["y"], to=TensorProto.FLOAT)
                 if back_to_float else helper.make_node("Identity", [last], ["y"]))
    return model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                 opset=17)


def test_onnxruntime_loses_the_float16_rounding_only_where_a_node_reads_the_cast():
    """Cast to float16 > Relu (no float16 kernel on the CPU) > Cast back: onnxruntime keeps
    the float32 value, and the check holds. Cast > Cast keeps the rounding, and the check
    does not hold."""
    x = np.array([-0.8456695, 0.1234567, 3.14159265], np.float32)
    rounded = x.astype(np.float16).astype(np.float32)
    relu = cast_chain("Relu")
    runtime, evaluator = readings(relu, x)
    assert np.array_equal(evaluator, np.maximum(rounded, 0))
    assert not np.array_equal(runtime, evaluator)  # the bug, while onnxruntime has it
    assert structure.holds(ENTRIES[CAST].where, relu, None)
    pair = cast_chain("")
    runtime, evaluator = readings(pair, x)
    assert np.array_equal(runtime, rounded) and np.array_equal(evaluator, rounded)
    assert not structure.holds(ENTRIES[CAST].where, pair, None)


def test_a_written_epsilon_converts_within_float64s_tolerance():
    """The entry's GroupNormalization with its epsilon written (the float32 1e-5 every
    reader then shares): onnx2pytorch passes at 1e-10, and the check does not hold."""
    issue = ENTRIES[EPSILON]
    spec = issue.minimals[0]
    written = dataclasses.replace(spec, attrs={**spec.attrs, "form_attrs": "written"})
    result = Harness("onnx>onnx2pytorch", diagnose=False).run(written)
    [leg] = [leg for leg in result.legs if leg.leg == "onnx>onnx2pytorch"]
    assert leg.verdict == "pass", leg.message
    received = Harness("onnx>onnx2pytorch").read_source(written).artifact
    assert not structure.holds(issue.where, received, None)


def test_the_evaluator_is_the_float16_sum_further_from_the_exact_one():
    """Who the entry blames: on its minimal specs the float64 evaluation of the same float16
    model is within half a float16 step of onnxruntime, and wherever the two readings part,
    further from the evaluator's."""
    from harness.sources.onnx import read_evaluator, read_onnxruntime
    from harness.sources.onnx.calibrate import exact_reading

    for spec in ENTRIES[PARTIAL_SUMS].minimals:
        source = Harness("onnx>ort-optimized").read_source(spec)
        m, inputs = source.artifact.model, source.inputs
        [exact] = exact_reading(m, inputs)
        [runtime] = read_onnxruntime(m, inputs, spec)
        [evaluator] = read_evaluator(m, inputs)
        runtime_off = np.abs(runtime.astype(np.float64) - exact)
        step = np.spacing(np.abs(exact).astype(np.float16)).astype(np.float64)
        assert np.all(runtime_off <= step / 2), (spec.kind, runtime, exact)
        apart = runtime != evaluator
        evaluator_off = np.abs(evaluator.astype(np.float64) - exact)
        assert apart.any() and np.all(evaluator_off[apart] > runtime_off[apart]), spec.kind


def max_unpool(output_length: int | None):
    operands = ["x", "indices"] + (["shape"] if output_length else [])
    initializers = [numpy_helper.from_array(np.array([[[1, 3], [4, 7]]], np.int64), "indices")]
    if output_length:
        initializers.append(numpy_helper.from_array(np.array([1, 2, output_length], np.int64),
                                                    "shape"))
    node = helper.make_node("MaxUnpool", operands, ["y"], kernel_shape=[2], strides=[2])
    return model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2])],
                 initializers, opset=17)


@pytest.mark.parametrize("output_length", [None, 4, 5, 6])
def test_the_max_unpool_check_holds_where_the_readings_part(output_length):
    """Indices 4 and 7 are places 0 and 3 of channel 1 over an output of length 4 (the
    inferred one); over a longer given output_shape onnxruntime reads them over it and the
    evaluator still over 4 (onnx-maxunpool-output-shape-indices: the spec leaves it open)."""
    m = max_unpool(output_length)
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]], np.float32)
    runtime, evaluator = readings(m, x)
    holds = structure.holds("max-unpool-output-shape-not-inferred", m, None)
    assert holds == (output_length not in (None, 4))
    assert holds == (not np.array_equal(runtime, evaluator)), (runtime, evaluator)


def scaled_resize(length: int, out: int):
    node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], mode="linear")
    scales = np.array([1, 1, out / length, 1], np.float32)
    return model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                        [1, 1, length, 1])],
                 [numpy_helper.from_array(np.array([], np.float32), "roi"),
                  numpy_helper.from_array(scales, "scales")], opset=13)


def test_a_resize_comes_out_short_only_where_its_scale_falls_short():
    """tf2onnx's scales float32(n / h) for every h, n from 1 to 16: where onnxruntime or the
    evaluator gives fewer than n rows, the check holds; where it does not hold, both give
    n. The check holds on some and not on others."""
    held = []
    for length, out in itertools.product(range(1, 17), repeat=2):
        m = scaled_resize(length, out)
        runtime, evaluator = readings(m, np.ones((1, 1, length, 1), np.float32))
        holds = structure.resize_scale_just_short(None, m)
        held.append(holds)
        if runtime.shape[2] != out or evaluator.shape[2] != out:
            assert holds, (length, out, runtime.shape, evaluator.shape)
        if not holds:
            assert runtime.shape[2] == evaluator.shape[2] == out, (length, out)
    assert any(held) and not all(held)
    issue = ENTRIES["tf2onnx-resize-static-scales-short-output"]
    assert not issue.matches_failure("shape_mismatch", "The shapes do not match",
                                     (None, scaled_resize(3, 6)))
    assert issue.matches_failure("shape_mismatch", "The shapes do not match",
                                 (None, scaled_resize(3, 5)))


@pytest.mark.parametrize("height", [5, 6])
def test_tf2onnx_writes_the_short_scale_the_check_reads(height):
    """The entry's Keras minimal spec, Resizing(5, 1) on 3 rows, through the real tf2onnx:
    its model holds a scale that falls short (1.6666666 x 3 = 4.9999998). Resizing(6, 1) has an
    exact scale, and the check does not hold: a shape mismatch there is no known issue."""
    from harness.core import stages
    from harness.core.stages import ConvertOptions

    issue = ENTRIES["tf2onnx-resize-static-scales-short-output"]
    spec = issue.minimals[1]
    assert spec.attrs["height"] == 5 and spec.input_shapes == ((1, 3, 1, 1),)
    spec = dataclasses.replace(spec, attrs={**spec.attrs, "height": height})
    keras = Harness("keras>tf2onnx").read_source(spec).artifact
    converted = stages.get("tf2onnx").convert(keras, ConvertOptions())
    assert structure.holds(issue.where, keras, converted) == (height == 5)


def batch_norm_float64(epsilon: float | None):
    """x normalised by a variance of 1e-7: the output moves with epsilon's last bits."""
    attrs = {} if epsilon is None else {"epsilon": epsilon}
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], **attrs)
    stats = {"s": 1.0, "b": 0.0, "m": 0.0, "v": 1e-7}
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.array([value]), name) for name, value in stats.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)],
                             ir_version=9)


def test_onnx2torch_reads_an_omitted_epsilon_as_float64():
    """The pin of onnx2torch-default-epsilon-as-float64: with epsilon left out, the real
    onnx2torch's BatchNormalization is beyond the float64 legs' 1e-10 from onnxruntime, and
    the check holds; with it written, within 1e-12, and the check does not hold."""
    onnx2torch = pytest.importorskip("onnx2torch")
    x = np.array([[[-2.0, 3.0]]])
    for epsilon, off in ((None, True), (1e-5, False)):
        m = batch_norm_float64(epsilon)
        runtime = ort.InferenceSession(m.SerializeToString(), providers=[
            "CPUExecutionProvider"]).run(None, {"x": x})[0]
        converted = onnx2torch.convert(m).eval()(torch.from_numpy(x)).detach().numpy()
        assert (np.max(np.abs(converted - runtime)) > 1e-10) == off, (epsilon, converted,
                                                                      runtime)
        assert structure.holds("epsilon-left-to-default", m, None) == off
