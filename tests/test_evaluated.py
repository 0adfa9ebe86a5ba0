"""The model as onnx's reference evaluator is given it (harness.runtimes.onnx_evaluated): Resize's
negative axes counted from the front, so the evaluator reads the node as the spec does and
onnxruntime's reading no longer stands alone where the evaluator used to raise; a OneHot's
non-integer indices cast to int64 first, as the spec casts them."""

import subprocess
import sys

import numpy as np
import pytest

from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.runtimes.onnx_evaluated import evaluator_model
from harness.sources.onnx import read_evaluator, read_onnxruntime

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402


def resize(axes, sizes, shape, policy="stretch", in_a_branch=False):
    """Resize-18 of a graph input by ``sizes`` over ``axes``, alone or inside an If's branch."""
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], axes=axes, mode="nearest",
                            keep_aspect_ratio_policy=policy)
    sizes = onnx.numpy_helper.from_array(np.array(sizes, np.int64), "sizes")
    if in_a_branch:
        branch = helper.make_graph([node], "branch", [],
                                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        nodes = [helper.make_node("If", ["cond"], ["out"], then_branch=branch,
                                  else_branch=branch)]
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
                  helper.make_tensor_value_info("cond", TensorProto.BOOL, [])]
        output = "out"
    else:
        nodes, output = [node], "y"
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    graph = helper.make_graph(nodes, "resize", inputs,
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              initializer=[sizes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def axes_of(model):
    graphs = [model.graph]
    for node in model.graph.node:
        graphs += [a.g for a in node.attribute if a.HasField("g")]
    return [list(a.ints) for g in graphs for n in g.node if n.op_type == "Resize"
            for a in n.attribute if a.name == "axes"]


def test_the_evaluator_still_cannot_read_negative_resize_axes():
    """Pins onnx-reference-resize-negative-axes: the evaluator, given the node as written,
    raises. Once it reads it, the workaround and the entry are to go."""
    issue = {i.id: i for i in known_issues.load()}["onnx-reference-resize-negative-axes"]
    assert issue.pinned_by.endswith(
        "::" + test_the_evaluator_still_cannot_read_negative_resize_axes.__name__)
    model = resize([-1], [3], [1, 1, 2])
    x = np.arange(2, dtype=np.float32).reshape(1, 1, 2)
    with pytest.raises(ValueError, match=issue.message) as raised:
        ReferenceEvaluator(model).run(None, {"x": x})
    assert raised.value is not None, (
        f"onnx {onnx.__version__}'s reference evaluator now reads Resize's negative axes: "
        "remove harness/runtimes/onnx_evaluated.py's rewrite and the entry")


@pytest.mark.parametrize("in_a_branch", [False, True], ids=["main-graph", "if-branch"])
def test_negative_axes_are_given_counted_from_the_front(in_a_branch):
    model = resize([1, -1], [2, 3], [1, 2, 2], in_a_branch=in_a_branch)
    given = evaluator_model(model)
    branches = 2 if in_a_branch else 1  # an If's then and else branches
    assert axes_of(given) == [[1, 2]] * branches
    assert axes_of(model) == [[1, -1]] * branches, "the model itself is left as written"
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    feeds = {"x": x, **({"cond": np.array(True)} if in_a_branch else {})}
    (read,) = ReferenceEvaluator(given).run(None, feeds)
    (front,) = ReferenceEvaluator(resize([1, 2], [2, 3], [1, 2, 2],
                                         in_a_branch=in_a_branch)).run(None, feeds)
    np.testing.assert_array_equal(read, front)
    assert read.shape == (1, 2, 3)


def test_a_model_with_nothing_to_rewrite_is_given_as_written():
    plain = resize([2], [3], [1, 1, 2])
    assert evaluator_model(plain) is plain
    # Free dims leave the rank known: the axis is still counted from the front.
    assert axes_of(evaluator_model(resize([-1], [3], [None, 1, None]))) == [[2]]
    # A rank no one declared cannot be counted: the node is given as written.
    unranked = resize([-1], [3], None)
    assert axes_of(evaluator_model(unranked)) == [[-1]]


def test_the_source_reads_onnxruntimes_policy_bug_against_the_evaluator():
    """Resize, axes [-1], sizes [3], not_smaller: onnxruntime returns the input unresized
    (onnxruntime-resize-negative-axes-aspect-policy); the evaluator, given axes [2], the
    spec's (1, 1, 3). The source's own leg fails on it; the rest are compared with the
    evaluator's reading."""
    model = resize([-1], [3], [1, 1, 2], policy="not_smaller")
    x = np.arange(2, dtype=np.float32).reshape(1, 1, 2)
    spec = LayerSpec("Resize", {}, ((1, 1, 2),), source="onnx")
    (runtime,) = read_onnxruntime(model, [x], spec)
    (evaluator,) = read_evaluator(model, [x])
    assert runtime.shape == (1, 1, 2)
    assert evaluator.shape == (1, 1, 3)
    # half_pixel, round_prefer_floor, scale 1.5: output i reads (i + 0.5) / 1.5 - 0.5 =
    # -1/6, 1/2, 7/6, rounded 0, 0 (the tie down), 1.
    np.testing.assert_array_equal(evaluator, x[..., [0, 0, 1]])

    minimal = {i.id: i for i in known_issues.load()}[
        "onnxruntime-resize-negative-axes-aspect-policy"].minimals[0]
    case = Harness("onnx>ort-optimized").run(minimal)
    legs = {leg.leg: leg for leg in case.legs}
    assert legs["onnx"].verdict == "xfail", legs["onnx"].message
    assert "(1, 1, 2) != (1, 1, 3)" in legs["onnx"].message


def test_a_reproducer_of_the_source_leg_reads_the_model_as_parity_does(tmp_path):
    """The script embeds evaluator_model: its evaluator reads the negative axis and the
    failure reproduces without parity."""
    from harness.repro_script import write_script

    minimal = {i.id: i for i in known_issues.load()}[
        "onnxruntime-resize-negative-axes-aspect-policy"].minimals[0]
    harness = Harness("onnx>ort-optimized")
    case = harness.run(minimal)
    script = tmp_path / "repro.py"
    script.write_text(write_script(harness, case, leg_name="onnx"))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot run the model" not in done.stdout
    assert "REPRODUCED" in done.stdout


def resize_10(mode, scales):
    """Resize-10 of a (1, 1, 4, 4) input by constant ``scales``."""
    node = helper.make_node("Resize", ["x", "scales"], ["y"], mode=mode)
    scales = onnx.numpy_helper.from_array(np.array(scales, np.float32), "scales")
    graph = helper.make_graph(
        [node], "resize_10", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])
    model.ir_version = 8
    return model


def test_the_evaluator_cannot_read_resize_10_as_written():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(Exception):  # noqa: B017 (the scales read as roi: whatever it raises)
        ReferenceEvaluator(resize_10("linear", [1, 1, 2, 2])).run(None, {"x": x})


@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.5, 0.5], [1, 1, 1.5, 0.75]])
def test_a_linear_resize_10_is_read_as_opset_10_defines_it(scales):
    """x_original = x_resized / scale, by hand on one axis at a time (the resize is separable);
    onnxruntime reads the file the same way."""
    model = resize_10("linear", scales)
    x = (np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) ** 1.5).astype(np.float32)
    (read,) = ReferenceEvaluator(evaluator_model(model)).run(None, {"x": x})

    def along(values, axis, scale):
        size = int(np.floor(values.shape[axis] * scale))
        where = np.minimum(np.arange(size) / scale, values.shape[axis] - 1)
        low = np.floor(where).astype(int)
        high = np.minimum(low + 1, values.shape[axis] - 1)
        weight = (where - low).reshape([-1 if a == axis else 1 for a in range(values.ndim)])
        return (np.take(values, low, axis) * (1 - weight)
                + np.take(values, high, axis) * weight)

    by_hand = along(along(x.astype(np.float64), 2, scales[2]), 3, scales[3])
    np.testing.assert_allclose(read, by_hand, rtol=1e-6)
    (runtime,) = read_onnxruntime(model, [x], LayerSpec("Resize", {}, ((1, 1, 4, 4),),
                                                        source="onnx"))
    np.testing.assert_allclose(read, runtime, rtol=1e-6)
    assert [n.input for n in model.graph.node] == [["x", "scales"]], "left as written"


def test_a_nearest_resize_10_is_given_as_written():
    model = resize_10("nearest", [1, 1, 1.5, 0.75])
    assert evaluator_model(model) is model


def one_hot(index_type=TensorProto.FLOAT, computed=False):
    """OneHot over depth 2 of indices fed as ``index_type`` (through an Identity where
    ``computed``, so that their type is inferred, not declared)."""
    indices = "fed" if computed else "x"
    nodes = [helper.make_node("OneHot", [indices, "depth", "values"], ["y"], axis=-1)]
    if computed:
        nodes.insert(0, helper.make_node("Identity", ["x"], ["fed"]))
    graph = helper.make_graph(
        nodes, "one_hot", [helper.make_tensor_value_info("x", index_type, [7])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
        initializer=[helper.make_tensor("depth", TensorProto.INT64, [], [2]),
                     helper.make_tensor("values", TensorProto.INT64, [2], [0, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


INDICES = np.array([-2.5, -1.5, -0.5, 0.3, 1.5, 1.9, 2.5], np.float32)
# The spec's reading: each index truncated to int64 (-2, -1, 0, 0, 1, 1, 2), a negative one
# counted from the end, 2 out of range (all off).
CAST = [[1, 0], [0, 1], [1, 0], [1, 0], [0, 1], [0, 1], [0, 0]]


def test_the_evaluator_still_does_not_cast_onehot_float_indices():
    """Pins onnx-reference-onehot-float-indices-uncast: given the node as written, the
    evaluator selects no class for a non-integer index. Once it casts, the workaround and the
    entry are to go."""
    issue = {i.id: i for i in known_issues.load()}["onnx-reference-onehot-float-indices-uncast"]
    assert issue.pinned_by.endswith(
        "::test_the_evaluator_still_does_not_cast_onehot_float_indices")
    (y,) = ReferenceEvaluator(one_hot()).run(None, {"x": INDICES})
    assert y.tolist() != CAST
    assert y[3].tolist() == [0, 0]  # 0.3 matches no class


@pytest.mark.parametrize("computed", [False, True], ids=["declared", "inferred"])
def test_onehot_float_indices_are_given_cast_as_the_spec_casts_them(computed):
    given = evaluator_model(one_hot(computed=computed))
    assert [n.op_type for n in given.graph.node][-2:] == ["Cast", "OneHot"]
    (y,) = ReferenceEvaluator(given).run(None, {"x": INDICES})
    assert y.tolist() == CAST
    assert read_evaluator(one_hot(computed=computed), [INDICES])[0].tolist() == CAST


def test_onehot_integer_indices_are_given_as_written():
    model = one_hot(TensorProto.INT64)
    assert evaluator_model(model) is model


def test_onnxruntime_reads_onehot_float_indices_as_its_entry_says():
    """Before 1.32 onnxruntime leaves them uncast (onnxruntime-onehot-float-indices-uncast);
    from 1.32 it casts, as the spec and the given evaluator do."""
    import onnxruntime
    from packaging.version import Version

    spec = LayerSpec(kind="OneHot", attrs={"opset": 17}, input_shapes=((7,),),
                     dtype="int64", source="onnx")
    (y,) = read_onnxruntime(one_hot(), [INDICES], spec)
    issue = {i.id: i for i in known_issues.load()}["onnxruntime-onehot-float-indices-uncast"]
    if Version(onnxruntime.__version__) >= Version("1.32"):
        assert y.tolist() == CAST and issue.outside_versions() is not None
    else:
        assert y[3].tolist() == [0, 0] and issue.outside_versions() is None
