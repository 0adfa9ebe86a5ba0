"""Known issues recognised by cause (harness/core/structure/): onnxslim's reading of a fed
Squeeze axes as absent is recognised whatever message it ends in, by what the slimmed model
declares; the check holds on nothing else."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.core.structure import fed_operand_shape_invented
from harness.run.pipeline import Harness

pytest.importorskip("onnxslim")

ENTRY = "onnxslim-fed-axes-or-split-read-as-absent"


def fc_as_conv(channels: int, form: str) -> LayerSpec:
    """Conv (``channels`` outputs) > Squeeze(axes [2, 3]) > Softmax(axis=1), the axes in
    ``form``: the gate's FcAsConv case of issue 49 with two channels."""
    conv = {"opset": 17, "dilations": [1, 1], "group": 1, "kernel_shape": [1, 1],
            "pads": [0, 0, 0, 0], "strides": [1, 1]}
    nodes = [{"kind": "Conv", "attrs": conv,
              "inputs": ["input_0", {"weight": [channels, 1, 1, 1], "role": "kernel"},
                         {"weight": [channels], "role": "bias"}]},
             {"kind": "Squeeze", "attrs": {"opset": 17},
              "inputs": [0, {"const": [2, 3], "dtype": "int64"}]},
             {"kind": "Softmax", "attrs": {"opset": 17, "axis": 1}, "inputs": [1]}]
    return LayerSpec(kind="FcAsConv", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [2],
                            "form_attrs": "written", "form_operands": form,
                            "form_opset": "drawn"},
                     input_shapes=((1, 1, 1, 1),), dtype="float32", seed=0)


@pytest.mark.parametrize("channels", [1, 2])
def test_one_cause_two_messages_one_entry(channels):
    (leg,) = Harness("onnx>onnxslim").run(fc_as_conv(channels, "fed")).legs
    assert leg.verdict == "xfail", leg.message
    assert leg.known_issue["id"] == ENTRY
    if channels == 2:  # a message the entry's regex does not know: the structure decides
        entry = next(i for i in known_issues.load() if i.id == ENTRY)
        assert not entry.matches_failure(leg.category, leg.message)


def test_the_check_reads_what_the_slimmed_model_declares():
    import onnxslim

    harness = Harness("onnx>onnxslim")
    fed = harness.read_source(fc_as_conv(2, "fed")).artifact
    slimmed = onnxslim.slim(fed.model)
    assert fed_operand_shape_invented(fed, slimmed)
    assert not fed_operand_shape_invented(fed, fed.model)  # nothing invented
    assert not fed_operand_shape_invented(fed, None)  # no model written: the message decides
    constant = harness.read_source(fc_as_conv(2, "initializer")).artifact
    assert not fed_operand_shape_invented(constant, onnxslim.slim(constant.model))
    (leg,) = harness.run(fc_as_conv(2, "initializer")).legs
    assert leg.verdict == "pass"


def layout_chain(form: str) -> LayerSpec:
    """Reshape to [1, 1, 2] > Squeeze(axes [0]) > Transpose(perm [0, 1]) of (1, 2), the
    operands in ``form``: onnxslim drops the identity Transpose, so the Squeeze writes the
    graph output under the Transpose's name (dev seed 8020)."""
    nodes = [{"kind": "Reshape", "attrs": {"opset": 17},
              "inputs": ["input_0", {"const": [1, 1, 2], "dtype": "int64"}]},
             {"kind": "Squeeze", "attrs": {"opset": 17},
              "inputs": [0, {"const": [0], "dtype": "int64"}]},
             {"kind": "Transpose", "attrs": {"opset": 17, "perm": [0, 1]}, "inputs": [1]}]
    return LayerSpec(kind="LayoutChain", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [2],
                            "form_attrs": "written", "form_operands": form,
                            "form_opset": "drawn"},
                     input_shapes=((1, 2),), dtype="float32", seed=0)


def test_the_check_follows_a_fed_squeeze_whose_output_the_rewriter_renamed():
    import onnxslim

    harness = Harness("onnx>onnxslim")
    fed = harness.read_source(layout_chain("fed")).artifact
    slimmed = onnxslim.slim(fed.model)
    squeeze = next(node for node in slimmed.graph.node if node.op_type == "Squeeze")
    assert squeeze.output[0] == slimmed.graph.output[0].name  # renamed to the graph output
    assert fed_operand_shape_invented(fed, slimmed)
    assert not fed_operand_shape_invented(fed, fed.model)  # the source's own declaration
    (leg,) = harness.run(layout_chain("fed")).legs
    assert leg.verdict == "xfail" and leg.known_issue["id"] == ENTRY, leg.message
    (leg,) = harness.run(layout_chain("initializer")).legs
    assert leg.verdict == "pass", leg.message


def test_an_unknown_structure_is_a_clear_error(tmp_path):
    (tmp_path / "x.toml").write_text(
        '[[issue]]\nid = "x"\nurl = "u"\nreason = "r"\nlegs = "*>onnxslim"\n'
        'nature = "refusal"\nparty = "onnxslim"\nstructure = "no-such-check"\n'
        'unpinned_reason = "test"\n')
    with pytest.raises(known_issues.KnownIssueFileError, match="no-such-check"):
        known_issues.load(tmp_path / "x.toml")


def _shape_model(rank: int, **slice_attrs):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"], **slice_attrs)], "shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1] * rank)],
        [helper.make_tensor_value_info("s", TensorProto.INT64, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("rank", "attrs", "needs_clamp"), [
    (3, {"start": -6}, True), (3, {"start": 4}, True), (1, {"start": 1, "end": -2}, True),
    (3, {"end": 9}, True), (3, {"start": 2, "end": 1}, True),
    (3, {}, False), (3, {"start": -3}, False), (3, {"start": 1, "end": -1}, False),
    (3, {"start": 3}, False)])
def test_a_shape_slice_needing_the_clamp_is_seen(rank, attrs, needs_clamp):
    """onnxoptimizer's eliminate_shape_op reads past the dims exactly where Shape-15's clamp
    matters: start or end outside [0, rank] once a negative one is counted from the rank."""
    from harness.core.structure import shape_slice_out_of_range

    assert shape_slice_out_of_range(_shape_model(rank, **attrs), None) is needs_clamp


def _two_output_model(op: str, outputs: list[str], listed: list[str]):
    """One ``op`` node with ``outputs`` (a TopK's values and indices, a Split's parts), the
    graph's outputs ``listed`` in that order."""
    from onnx import TensorProto, helper, numpy_helper

    inputs = ["x", "k"] if op == "TopK" else ["x"]
    init = [numpy_helper.from_array(np.array([1], np.int64), "k")] if op == "TopK" else []
    graph = helper.make_graph(
        [helper.make_node(op, inputs, outputs, axis=-1)], op.lower(),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None) for name in listed],
        initializer=init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize(("op", "listed", "differs"), [
    ("TopK", ["v", "i"], False), ("TopK", ["i"], True), ("TopK", ["v"], True),
    ("TopK", ["i", "v"], True), ("Split", ["v", "i"], False), ("Split", ["i", "v"], True),
    ("Split", ["v", "i", "v"], True)])
def test_graph_outputs_that_are_not_whole_nodes_are_seen(op, listed, differs):
    """onnx2torch returns each graph output's producing node whole, once: the check holds
    exactly where that differs from the graph's outputs in order."""
    from harness.core.structure import graph_outputs_not_whole_nodes

    model = _two_output_model(op, ["v", "i"], listed)
    assert graph_outputs_not_whole_nodes(model, None) is differs


def nms(score_threshold: float | None) -> LayerSpec:
    """NonMaxSuppression-11 of two boxes that do not overlap, scores (0.5, 0.3) fed, with
    ``score_threshold`` given, or omitted where None."""
    inputs = [{"const": [[[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]], "dtype": "float32"},
              "input_0", {"const": [5], "dtype": "int64"},
              {"const": [0.5], "dtype": "float32"}]
    if score_threshold is not None:
        inputs.append({"const": [score_threshold], "dtype": "float32"})
    nodes = [{"kind": "NonMaxSuppression", "attrs": {"opset": 11}, "inputs": inputs}]
    return LayerSpec(kind="SplitConcat", source="onnx",
                     attrs={"opset": 11, "nodes": nodes, "graph_outputs": [0]},
                     input_shapes=((1, 1, 2),), dtype="float32", seed=0,
                     input_overrides=(((0, 0.5), (1, 0.3 if score_threshold else -0.3)),))


@pytest.mark.parametrize(("threshold", "entry"), [
    (None, "torch-converters-nms-omitted-score-threshold"),
    (0.3, "onnx2pytorch-nms-score-threshold-inclusive"),
])
def test_one_op_one_message_two_entries_told_apart_by_the_model(threshold, entry):
    """Both of onnx2pytorch's NonMaxSuppression bugs end in the same shape mismatch; the
    entry that claims the failure is the one whose ``where`` holds on the model."""
    (leg,) = Harness("onnx>onnx2pytorch").run(nms(threshold)).legs
    assert leg.verdict == "xfail", leg.message
    assert leg.known_issue["id"] == entry
    others = [i for i in known_issues.load() if i.where is not None and "nms" in i.where
              and i.id != entry]
    assert others and not any(
        i.matches_failure(leg.category, leg.message, (Harness("onnx>onnx2pytorch")
                          .read_source(nms(threshold)).artifact, None)) for i in others)


def test_a_threshold_above_every_score_passes_on_both_converters():
    """The control: with the threshold strictly between the scores, nothing is at the
    threshold, and onnx2pytorch and onnx2torch agree with onnxruntime."""
    spec = nms(0.3)
    spec = LayerSpec.from_json({**spec.to_json(), "input_overrides": [[[0, 0.5], [1, 0.31]]]})
    legs = Harness("onnx>onnx2pytorch,onnx>onnx2torch").run(spec).legs
    assert sorted(leg.leg for leg in legs) == ["onnx>onnx2pytorch", "onnx>onnx2torch"]
    for leg in legs:
        assert leg.verdict == "pass", (leg.leg, leg.message)


def onehot_model(shape: tuple[int, ...], axis: int | None):
    """One OneHot of int64 indices of ``shape`` (depth 3), its axis written or left out."""
    from onnx import TensorProto, helper

    node = helper.make_node("OneHot", ["i", "d", "v"], ["y"],
                            **({} if axis is None else {"axis": axis}))
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("i", TensorProto.INT64, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("d", TensorProto.INT64, [], [3]),
         helper.make_tensor("v", TensorProto.FLOAT, [2], [0.0, 1.0])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])


@pytest.mark.parametrize(("shape", "axis", "holds"), [
    ((1, 2, 2), 1, True), ((1, 2, 2), 0, True), ((1, 2, 2), -1, False), ((1, 2, 2), 3, False),
    ((3, 2), 2, False), ((3, 2), 0, False)])
def test_onehot_axis_inside_channel_last_reads_the_indices_rank(shape, axis, holds):
    """onnx2tf keeps indices of rank 3 or more channel-last: its OneHot axis bug is there, not
    on rank-2 indices (where the out-of-range entry's pin lives) nor on the last axis."""
    from harness.core.structure import onehot_axis_inside_channel_last

    assert onehot_axis_inside_channel_last(onehot_model(shape, axis), None) is holds


@pytest.mark.parametrize(("shape", "axis", "holds"), [
    ((2,), -1, True), ((2,), None, True), ((1, 2), -2, True), ((1, 2), 1, False),
    ((3, 2), 2, False), ((1, 2, 2), -1, False)])
def test_onehot_negative_axis_kept_layout_reads_the_sign_and_the_rank(shape, axis, holds):
    """onnx2tf counts a negative OneHot axis twice: it shows on indices of rank 1 or 2, which
    onnx2tf keeps as ONNX lays them out, the default axis (-1) included; not on a positive
    axis (the out-of-range entry's pin) nor on indices it moves channel-last."""
    from harness.core.structure import onehot_negative_axis_kept_layout

    assert onehot_negative_axis_kept_layout(onehot_model(shape, axis), None) is holds


def topk_model(shape: tuple[int, ...], k_fed: bool):
    """One TopK(axis=-1) of a float tensor of ``shape``, its K (1) a graph input or an
    initializer."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    k = helper.make_tensor("k", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("TopK", ["x", "k"], ["values", "indices"])], "g",
        [x, helper.make_tensor_value_info("k", TensorProto.INT64, [1])] if k_fed else [x],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("indices", TensorProto.INT64, None)],
        [] if k_fed else [k])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("shape", "k_fed", "holds"), [
    ((2, 3, 4), True, True), ((3, 3, 6, 1), True, True), ((2, 3, 4), False, False),
    ((3, 6), True, False), ((6,), True, False)])
def test_topk_fed_k_on_channel_last_reads_the_rank_and_where_k_comes_from(shape, k_fed, holds):
    """onnx2tf's TopK reads a fed K as a tensor kept in ONNX's layout and leaves the axis
    unconverted: the bug is on inputs of rank 3 or more (which it moves channel-last) with K
    a graph input, not with K a constant (the numpy entry's pin) nor on rank 1 or 2."""
    from harness.core.structure import topk_fed_k_on_channel_last

    assert topk_fed_k_on_channel_last(topk_model(shape, k_fed), None) is holds


def gather_model(shape: tuple[int, ...], axis: int, index):
    """One Gather of a float tensor of ``shape`` along ``axis`` by a constant ``index``."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(index, np.int64), "i")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


@pytest.mark.parametrize(("shape", "axis", "index", "holds"), [
    ((2, 1, 3), 0, -1, True), ((2, 2, 3, 4), 0, 1, True), ((2, 2, 3), -3, 0, True),
    ((2, 2, 3), 0, [1], False),  # an index of shape (1,) keeps the batch axis
    ((2, 2, 3), 1, 1, False), ((2, 2, 3), -1, 0, False), ((2, 3), 0, 1, False)])
def test_gather_drops_the_batch_on_channel_last_reads_axis_index_and_rank(shape, axis, index,
                                                                          holds):
    """onnx2tf returns what is left of a channel-last tensor after gathering its batch in the
    input's channel-last order: the bug is a scalar index along axis 0 (or -rank) of rank 3
    or more, not an index that keeps the axis, another axis, or a rank-2 input (which onnx2tf
    keeps in ONNX's layout)."""
    from harness.core.structure import gather_drops_the_batch_on_channel_last

    assert gather_drops_the_batch_on_channel_last(gather_model(shape, axis, index),
                                                  None) is holds


def gathernd_model(shape: tuple[int, ...], indices, batch_dims: int = 0, *,
                   data_constant: bool = False, indices_fed: bool = False):
    """One GatherND of a float tensor of ``shape`` (a graph input, or a constant) by
    ``indices`` (a constant, or a graph input of their shape)."""
    from onnx import TensorProto, helper, numpy_helper

    indices = np.array(indices, np.int64)
    inputs, initializers = [], []
    if data_constant:
        initializers.append(numpy_helper.from_array(np.zeros(shape, np.float32), "x"))
    else:
        inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape)))
    if indices_fed:
        inputs.append(helper.make_tensor_value_info("i", TensorProto.INT64,
                                                    list(indices.shape)))
    else:
        initializers.append(numpy_helper.from_array(indices, "i"))
    graph = helper.make_graph(
        [helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=batch_dims)], "g",
        inputs or [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])


@pytest.mark.parametrize(("model", "holds"), [
    (gathernd_model((2, 3, 4), [[1, 2]]), True),
    (gathernd_model((2, 3, 4), [[1, 2, 3]]), True),
    (gathernd_model((4, 2, 1), [[1], [0], [1], [0]], 1, indices_fed=True), True),
    (gathernd_model((1, 3, 4, 5), [[2, 3]], 1), True),
    (gathernd_model((2, 3, 4), [[1]]), False),  # whole batch items: the batch axis stays
    (gathernd_model((3, 4), [[1, 2]]), False),  # rank 2: onnx2tf keeps ONNX's layout
    (gathernd_model((2, 3, 4), [[1, 2]], data_constant=True), False),  # a constant stays
], ids=["depth-2", "depth-3", "batch-dims-fed-indices", "rank-4", "depth-1", "rank-2",
        "constant-data"])
def test_gathernd_past_the_batch_on_channel_last_reads_rank_depth_and_batch_dims(model,
                                                                                  holds):
    """onnx2tf gathers from channel-last data with indices in ONNX's order: the bug is an
    index reaching past the batch axis (batch_dims plus the index depth of 2 or more) into
    computed or fed data of rank 3 or more, not depth 1 alone, rank 2 or a constant."""
    from harness.core.structure import gathernd_past_the_batch_on_channel_last

    assert gathernd_past_the_batch_on_channel_last(model, None) is holds


def slice_model(steps):
    """One Slice of a (4,) tensor from 3 to 0, its steps a constant (None: omitted)."""
    from onnx import TensorProto, helper, numpy_helper

    operands = {"starts": [3], "ends": [0], "axes": [0]}
    if steps is not None:
        operands["steps"] = steps
    graph = helper.make_graph(
        [helper.make_node("Slice", ["x", *operands], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in operands.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def fed_axes_slice(fed: set[str]):
    """``slice_model([1])`` with the operands in ``fed`` graph inputs, not initializers."""
    from onnx import TensorProto, helper

    model = slice_model([1])
    graph = model.graph
    kept = [t for t in graph.initializer if t.name not in fed]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.input.extend(helper.make_tensor_value_info(name, TensorProto.INT64, [1])
                       for name in sorted(fed))
    return model


@pytest.mark.parametrize(("fed", "holds"), [({"axes"}, True), ({"starts", "ends", "axes",
                                                                "steps"}, True),
                                            ({"starts", "ends"}, False), (set(), False)])
def test_slice_axes_fed_reads_the_axes_operand_alone(fed, holds):
    from harness.core import structure

    assert structure.holds("slice-axes-fed", fed_axes_slice(fed), None) is holds


def expand_by_a_fed_shape(shape, length: int):
    """Expand of a float tensor of ``shape`` by a shape of ``length`` dims fed at run time."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape)),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [length])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("shape", "length", "holds"), [
    ((2, 3, 4), 4, True), ((2, 3, 2, 3), 6, True), ((2, 3, 4), 3, False), ((2, 3), 3, False)])
def test_expand_fed_to_a_higher_rank_reads_the_fed_shape_s_length(shape, length, holds):
    from harness.core import structure

    model = expand_by_a_fed_shape(shape, length)
    assert structure.holds("expand-fed-to-a-higher-rank", model, None) is holds


def two_fed(op: str, first, second, constant: bool = False):
    """``op`` of two float graph inputs of shapes ``first`` and ``second`` (``constant``: the
    second an initializer instead)."""
    from onnx import TensorProto, helper, numpy_helper

    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(first))]
    initializers = []
    if constant:
        initializers.append(numpy_helper.from_array(np.ones(second, np.float32), "b"))
    else:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, list(second)))
    graph = helper.make_graph(
        [helper.make_node(op, ["a", "b"], ["y"])], "g", inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("first", "second", "constant", "holds"), [
    ((3, 2), (3, 3, 1), False, True), ((3, 4, 1), (2, 3, 4, 1), False, True),
    ((2,), (3, 3, 1), False, True), ((3, 2), (4, 2), False, False),
    ((2, 3, 5), (2, 3, 5), False, False), ((3, 2), (3, 3, 1), True, False)])
def test_fed_inputs_of_different_ranks_reads_the_fed_inputs_alone(first, second, constant,
                                                                  holds):
    from harness.core import structure

    model = two_fed("Max", first, second, constant)
    assert structure.holds("fed-inputs-of-different-ranks", model, None) is holds


def mvn(shape, axes):
    from onnx import TensorProto, helper

    attributes = {} if axes is None else {"axes": axes}
    graph = helper.make_graph(
        [helper.make_node("MeanVarianceNormalization", ["x"], ["y"], **attributes)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("shape", "axes", "holds"), [
    ((2, 4), [1], True), ((2, 4), [0, 1], True), ((2, 4), [-1], True), ((2, 4), [0], False),
    ((4,), [0], False), ((2, 3, 4), [2], False), ((2, 3, 4, 5), None, False)])
def test_mvn_of_rank_two_off_the_batch_reads_the_rank_and_the_axes(shape, axes, holds):
    from harness.core import structure

    assert structure.holds("mvn-of-rank-two-off-the-batch", mvn(shape, axes), None) is holds


def arithmetic(op: str, shape, constant_shape):
    """``op`` of a float tensor of ``shape`` (a name for a free dim) by a constant of
    ``constant_shape``."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node(op, ["x", "c"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones(constant_shape, np.float32), "c")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


@pytest.mark.parametrize(("op", "shape", "constant", "across", "as_long"), [
    ("Mul", (2, 3, 4, 5), (3, 4, 5), True, False),
    ("Add", (2, 3, 4, 5), (1, 4, 5), True, False),
    ("Mul", (2, 3, 4, 5), (1, 3, 4, 5), True, False),
    ("Sub", (2, 3, 4, 5), (3, 4, 1), True, False),
    ("Mul", (2, 3, 4, 5), (4, 5), False, False),
    ("Mul", (2, 3, 4, 5), (3, 1, 1), False, False),
    ("Mul", (2, 3, 3, 5), (3, 1, 1), False, True),
    ("Div", (2, 3, 3, 5, 6), (3, 1, 1, 1), False, True),
    ("Mul", (2, 3, 3, 5), (1, 3, 1, 1), False, False),
    ("Mul", (2, 3, 4, 3), (3, 1, 1), False, False),
    ("Mul", (3, 4), (3, 4), False, False),
    ("Mul", (2, 3, 5), (3, 5), False, False),  # rank 3 converts
    ("Mul", (2, 3, 4, 5, 6), (4, 5, 6), True, False),
    ("Mul", (2, 3, 4, 5, 6), (5, 6), False, False),
    ("Mul", (2, 3, 4, 5), (1, 1, 5), True, False),
    ("Mul", ("N", 3, 3, 5), (3, 1, 1), False, True),
    ("Mul", (2, 3, 1, 2), (3, 1, 1), False, True),  # a unit height
    ("Mul", (2, 3, 2, 1), (3, 1, 1), False, False),
    ("Mul", (2, 3, 2, 1), (1, 3, 1, 1), False, True),  # a unit width
    ("Mul", (1, 3, 1, 1), (1, 3, 1, 1), False, False),
    ("Sub", (2, 2, 1, 1), (1, 2, 1, 1), False, True),  # dev seed 8028's MeanSubtract
])
def test_the_constant_operand_checks_read_both_shapes(op, shape, constant, across, as_long):
    from harness.core import structure

    model = arithmetic(op, shape, constant)
    assert structure.holds("constant-of-rank-three-over-space", model, None) is across
    assert structure.holds("per-channel-constant-beside-a-unit-or-channel-sized-axis", model, None) is as_long


@pytest.mark.parametrize(("steps", "holds"), [([-1], True), ([-2], True), ([1], False),
                                               (None, False)])
def test_slice_with_a_negative_step_reads_the_written_model_first(steps, holds):
    """The torch exporter's Slice declaration bug is recognised in the model it wrote (the
    leg's received artifact is a torch module, which no check reads)."""
    from harness.core.structure import slice_with_a_negative_step, slice_with_a_step_not_one

    assert slice_with_a_negative_step(None, slice_model(steps)) is holds
    assert slice_with_a_negative_step(slice_model(steps), None) is holds
    assert slice_with_a_negative_step(None, None) is False
    assert slice_with_a_step_not_one(None, slice_model(steps)) is (steps not in (None, [1]))
    assert slice_with_a_step_not_one(None, slice_model([2])) is True


def steps_through_an_identity(step: int, fed: bool = False):
    """``slice_model`` written as torch's TorchScript exporter writes a Slice whose steps
    equal another operand: the steps an Identity of that one initializer (or of a graph
    input, ``fed``)."""
    from onnx import TensorProto, helper, numpy_helper

    model = slice_model(None)
    graph = model.graph
    graph.node.insert(0, helper.make_node("Identity", ["shared"], ["steps_again"]))
    graph.node[1].input.append("steps_again")
    if fed:
        graph.input.append(helper.make_tensor_value_info("shared", TensorProto.INT64, [1]))
    else:
        graph.initializer.append(numpy_helper.from_array(np.array([step], np.int64), "shared"))
    return model


@pytest.mark.parametrize(("step", "fed", "holds"), [(-2, False, True), (1, False, False),
                                                     (-2, True, False)])
def test_a_slice_step_through_an_identity_is_read(step, fed, holds):
    """Dev seed 9024: onnx2torch's Slice of axes [-2], steps [-2] exported by torch-onnx-ts,
    whose empty result is declared 1 (torch-onnx-ts-empty-strided-slice-declared-one), read
    as no step at all while the steps went through an Identity."""
    from harness.core.structure import models, slice_with_a_step_not_one

    model = steps_through_an_identity(step, fed)
    assert slice_with_a_step_not_one(None, model) is holds
    assert ("steps_again" in models.constants(model)) is not fed


def conv_mul(producer: str, scale: list[int], input_shape: tuple[int, ...]) -> LayerSpec:
    """A 1x1 Conv or ConvTranspose with two output channels → Mul by a constant of shape
    ``scale``: the patterns source's ChannelGuards motif."""
    kernel = [2, input_shape[1], 1, 1] if producer == "Conv" else [input_shape[1], 2, 1, 1]
    nodes = [{"kind": producer, "attrs": {"opset": 17, "group": 1, "kernel_shape": [1, 1]},
              "inputs": ["input_0", {"weight": kernel, "role": "kernel"}]},
             {"kind": "Mul", "attrs": {"opset": 17},
              "inputs": [0, {"weight": scale, "role": "scale"}]}]
    return LayerSpec(kind="ChannelGuards", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [1],
                            "form_attrs": "written", "form_operands": "initializer",
                            "form_opset": "drawn"},
                     input_shapes=(input_shape,), dtype="float32", seed=0)


@pytest.mark.parametrize(("producer", "scale", "shape", "verdict"), [
    ("Conv", [2], (1, 1, 1, 2), "xfail"),  # along the width, which is 2
    ("Conv", [1, 2, 1], (1, 1, 2, 1), "xfail"),  # along the rows
    ("ConvTranspose", [2, 1], (1, 1, 2, 1), "xfail"),
    ("Conv", [2, 1, 1], (1, 1, 2, 2), "pass"),  # per channel: the fusion is right
    ("ConvTranspose", [1, 2, 1, 1], (1, 1, 2, 2), "pass")])
def test_a_mul_off_the_channel_axis_is_the_entrys(producer, scale, shape, verdict):
    """onnxslim folds a Mul whose constant is as long as the channels into the weights
    whatever axis it runs along: off the channel axis that is the entry's wrong output, on
    it the slimmed model is right (and the check does not hold)."""
    from harness.core.structure import conv_scale_not_per_channel

    spec = conv_mul(producer, scale, shape)
    (leg,) = Harness("onnx>onnxslim").run(spec).legs
    assert leg.verdict == verdict, leg.message
    received = Harness("onnx>onnxslim").read_source(spec).artifact
    assert conv_scale_not_per_channel(received, None) is (verdict == "xfail")
    if verdict == "xfail":
        assert leg.known_issue["id"] == "onnxslim-conv-mul-fusion-ignores-broadcast"


@pytest.mark.parametrize(("second", "allowzero", "verdict"), [
    ([0, 0, -1], 0, "xfail"),  # the 0s copy (1, 2) from (1, 2, 3), and (1, 3) from x
    ([1, 2, 3], 0, "pass"),  # no 0: merging is right
    ([0, 2, -1], 0, "pass"),  # the 0 copies the batch, which both have
])
def test_a_reshape_zero_after_a_reshape_is_the_entrys(second, allowzero, verdict):
    """onnxoptimizer's eliminate_consecutive_idempotent_ops merges Reshape → Reshape onto the
    first's input, so a 0 in the second copies the input's dimension: where that differs it
    is the entry's wrong shape; the check holds on any such 0, and the entry claims a shape
    mismatch only."""
    from harness.core.structure import reshape_of_reshape_copies_a_dim

    nodes = [{"kind": "Reshape", "attrs": {"opset": 17},
              "inputs": ["input_0", {"const": [0, 2, 3], "dtype": "int64"}]},
             {"kind": "Reshape", "attrs": {"opset": 17, "allowzero": allowzero},
              "inputs": [0, {"const": second, "dtype": "int64"}]}]
    spec = LayerSpec(kind="MergeGuards", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [1],
                            "form_attrs": "written", "form_operands": "initializer",
                            "form_opset": "drawn"},
                     input_shapes=((1, 3, 2),), dtype="float32", seed=0)
    harness = Harness("onnx>onnxoptimizer")
    (leg,) = harness.run(spec).legs
    assert leg.verdict == verdict, leg.message
    received = harness.read_source(spec).artifact
    assert reshape_of_reshape_copies_a_dim(received, None) is (0 in second)
    if verdict == "xfail":
        assert leg.known_issue["id"] == "onnxoptimizer-idempotent-reshape-copies-zeros-from-input"


def one_node(op: str, shape, declared=None, **attrs):
    """One ``op`` node of a float tensor of ``shape``, its output declared ``declared``."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], **attrs)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, declared)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize(("check", "model", "holds"), [
    ("det-of-rank-four-or-more", one_node("Det", (1, 3, 3, 3)), True),
    ("det-of-rank-four-or-more", one_node("Det", (2, 3, 3)), False),
    ("lp-pool-not-euclidean-over-two-axes", one_node("GlobalLpPool", (1, 2, 3, 4), p=1), True),
    ("lp-pool-not-euclidean-over-two-axes", one_node("GlobalLpPool", (1, 2, 5), p=2), True),
    ("lp-pool-not-euclidean-over-two-axes", one_node("GlobalLpPool", (1, 2, 3, 4)), False),
    # AveragePool(kernel 2, strides 3, pads [0, 1], ceil_mode) of (1, 1, 3): runtimes 1, onnx 2
    ("outputs-inferred-otherwise", one_node("AveragePool", (1, 1, 3), [1, 1, 1], ceil_mode=1,
                                            kernel_shape=[2], strides=[3], pads=[0, 1]), True),
    ("outputs-inferred-otherwise", one_node("AveragePool", (1, 1, 3), [1, 1, 1],
                                            kernel_shape=[2], strides=[3], pads=[0, 1]), False),
    ("square-input-after-the-batch", one_node("ArgMax", (2, 3, 3), axis=1), True),
    ("square-input-after-the-batch", one_node("ArgMax", (1, 2, 2, 2), axis=1), True),
    ("square-input-after-the-batch", one_node("ArgMax", (4, 3, 5), axis=1), False),
    ("square-input-after-the-batch", one_node("ArgMax", (3, 3), axis=1), False),
    ("max-unpool-of-more-than-one-channel", one_node("MaxUnpool", (1, 3, 1), kernel_shape=[2]),
     True),
    ("max-unpool-of-more-than-one-channel", one_node("MaxUnpool", (2, 1, 2), kernel_shape=[2]),
     False),
], ids=["det-4d", "det-3d", "lp-p1", "lp-1d", "lp-euclidean-2d", "declared-as-read",
        "declared-as-inferred", "square-3d", "square-4d", "not-square", "rank-2",
        "unpool-channels", "unpool-one-channel"])
def test_the_converter_motifs_tell_the_cause_from_its_twin(check, model, holds):
    from harness.core import structure

    assert structure.holds(check, model, None) is holds


@pytest.mark.parametrize(("folds", "holds"), [(["Sqrt"], True), (["Sqrt", "Reciprocal"], True),
                                              ([], True), (["Transpose"], False)])
def test_a_constant_folded_through_elementwise_ops_is_a_constant_operand(folds, holds):
    """Dev seed 9033's FoldNextToInput: x (2, 4, 1, 2) plus Sqrt of a (4, 1, 2) variance,
    which onnx2tf folds into one constant and lays out wrongly. A Transpose is not
    elementwise: its output's shape is not the constant's."""
    from onnx import TensorProto, helper, numpy_helper

    from harness.core import structure

    nodes, name = [], "variance"
    for index, op in enumerate(folds):
        nodes.append(helper.make_node(op, [name], [f"folded_{index}"]))
        name = f"folded_{index}"
    nodes.append(helper.make_node("Add", [name, "x"], ["y"]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((4, 1, 2), np.float32), "variance")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    assert structure.holds("constant-of-rank-three-over-space", model, None) is holds
