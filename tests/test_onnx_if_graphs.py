"""Graph-valued attributes in drawn ONNX graphs (harness/sources/onnx/graphs.py): an If's
branches are node lists of their own that read the enclosing graph's tensors by name; the
IfBranches kind draws constant and computed conditions; LegacyOpsetNet draws Dropout-7 with
its ratio an attribute. onnxoptimizer's eliminate_if_with_const_cond and eliminate_nop_dropout
fire on their targets only, and the numbers hold."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.run.pipeline import Harness
from harness.sources.onnx.build import GraphBuilder, fill_weights, graphs
from harness.sources.onnx.graphs import build_graph

ort = pytest.importorskip("onnxruntime")


def branch(nodes, outputs, **extra):
    return {"graph": {"nodes": nodes, "graph_outputs": outputs, **extra}}


def if_spec(cond, opset=17):
    """Relu(x), a graph output that both branches read; a Constant(True) and ReduceSum(x) > 0
    that a condition can be; the If: then Relu(x) * 2 (its own initializer) + 1 (the outer
    graph's); else x * -1 (a Constant node in the branch)."""
    then = branch([{"kind": "Mul", "attrs": {}, "inputs": [{"outer": 0}, {"const": 2.0,
                                                                          "dtype": "float32"}]},
                   {"kind": "Add", "attrs": {},
                    "inputs": [0, {"outer": {"const": 1.0, "dtype": "float32"}}]}], [1])
    other = branch([{"kind": "Constant", "attrs": {"value": {"tensor": -1.0}}, "inputs": []},
                    {"kind": "Mul", "attrs": {}, "inputs": ["input_0", 0]}], [1])
    return {"opset": opset, "graph_outputs": [0, 4], "nodes": [
        {"kind": "Relu", "attrs": {}, "inputs": ["input_0"]},
        {"kind": "Constant", "attrs": {"value": {"tensor": True, "dtype": "bool"}},
         "inputs": []},
        {"kind": "ReduceSum", "attrs": {"keepdims": 0}, "inputs": ["input_0"]},
        {"kind": "Greater", "attrs": {}, "inputs": [2, {"const": 0.0, "dtype": "float32"}]},
        {"kind": "If", "attrs": {"then_branch": then, "else_branch": other}, "inputs": [cond]}]}


def run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_0": x})


@pytest.mark.parametrize("value", [True, False])
def test_a_branch_reads_outer_tensors_by_name_and_holds_its_own_constants(value):
    model = build_graph(if_spec({"const": value, "dtype": "bool"}), [(2, 3)], "float32")
    x = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
    relu, chosen = run(model, x)
    np.testing.assert_allclose(relu, np.maximum(x, 0))
    np.testing.assert_allclose(chosen, np.maximum(x, 0) * 2 + 1 if value else -x)
    if_node = model.graph.node[4]
    branches = {attribute.name: attribute.g for attribute in if_node.attribute}
    then, other = branches["then_branch"], branches["else_branch"]
    # The renamed graph output (Relu's, now output_0) is renamed where the branch reads it.
    assert then.node[0].input[0] == "output_0"
    assert [t.name for t in then.initializer] == ["n04_if_then_branch_c1"]
    assert [n.name for n in other.node] == ["n04_if_else_branch_n00_constant",
                                            "n04_if_else_branch_n01_mul"]
    names = [o for g in graphs(model.graph) for n in g.node for o in n.output]
    assert len(names) == len(set(names))


def test_a_subgraphs_weights_are_filled_after_the_main_graphs():
    spec = if_spec({"const": True, "dtype": "bool"})
    spec["nodes"][4]["attrs"]["then_branch"]["graph"]["nodes"][0]["inputs"][1] = {
        "weight": [3], "role": "bias"}
    model = build_graph(spec, [(2, 3)], "float32")
    fill_weights(model, np.random.default_rng(0))
    then = next(a.g for a in model.graph.node[4].attribute if a.name == "then_branch")
    (weight,) = then.initializer
    assert weight.name == "wn04_if_then_branch_0_bias"
    assert np.any(np.frombuffer(weight.raw_data, np.float32) != 0)


def test_an_outer_ref_in_the_main_graph_is_a_clear_error():
    attrs = {"opset": 17, "nodes": [{"kind": "Relu", "attrs": {}, "inputs": [{"outer": 0}]}],
             "graph_outputs": [0]}
    with pytest.raises(ValueError, match="the main graph has no enclosing graph"):
        build_graph(attrs, [(1, 2)], "float32")


def test_a_subgraph_has_typed_shapeless_outputs():
    inner = GraphBuilder("float32", prefix="b_")
    (out,) = inner.add_node("Neg", ["x"], {})
    graph = inner.subgraph([out], "b", ["float64"])
    assert graph.output[0].name == "b_n00_neg_out"
    assert graph.output[0].type.tensor_type.elem_type == 11
    assert not graph.output[0].type.tensor_type.HasField("shape")


def optimized(model, name):
    onnxoptimizer = pytest.importorskip("onnxoptimizer")
    return [n.op_type for n in onnxoptimizer.optimize(model, [name]).graph.node]


CONDS = {"initializer": {"const": [True], "dtype": "bool"}, "constant node": 1,
         "computed": 3}


@pytest.mark.parametrize("cond", CONDS)
def test_eliminate_if_with_const_cond_inlines_a_constant_condition_only(cond):
    spec = if_spec(CONDS[cond])
    model = build_graph(spec, [(2, 3)], "float32")
    assert ("If" in optimized(model, "eliminate_if_with_const_cond")) == (cond == "computed")
    layer = LayerSpec("IfBranches", spec, ((2, 3),), source="onnx")
    (leg,) = Harness("onnx>onnxoptimizer", known_issues=[]).run(layer).legs
    assert leg.verdict == "pass", leg.message


def legacy_spec(ratio):
    conv = {"kind": "Conv", "attrs": {"opset": 9, "dilations": [1, 1], "group": 1,
                                      "kernel_shape": [1, 1], "pads": [0, 0, 0, 0],
                                      "strides": [1, 1]},
            "inputs": ["input_0", {"weight": [2, 1, 1, 1], "role": "kernel"},
                       {"weight": [2], "role": "bias"}]}
    return {"opset": 9, "graph_outputs": [3], "nodes": [
        conv, {"kind": "Relu", "attrs": {"opset": 9}, "inputs": [0]},
        {"kind": "Dropout", "attrs": {"opset": 9, "ratio": ratio}, "inputs": [1]},
        {"kind": "Neg", "attrs": {"opset": 9}, "inputs": [2]}]}


@pytest.mark.parametrize("ratio", [0.0, 0.5])
def test_eliminate_nop_dropout_drops_a_dropout_of_ratio_0_only(ratio):
    model = build_graph(legacy_spec(ratio), [(1, 1, 2, 2)], "float32")
    assert ("Dropout" in optimized(model, "eliminate_nop_dropout")) == (ratio != 0.0)
    layer = LayerSpec("LegacyOpsetNet", legacy_spec(ratio), ((1, 1, 2, 2),), source="onnx")
    legs = Harness("onnx>onnxoptimizer,onnx>onnx2pytorch", known_issues=[]).run(layer).legs
    assert [leg.verdict for leg in legs] == ["pass", "pass"], [leg.message for leg in legs]


def test_the_ci_draw_reaches_each_target_and_its_guards():
    """Twelve derandomised examples, as the ci profile draws them, hold a constant and a
    computed condition, and Dropouts of ratio 0 and not."""
    conds = set()
    for spec in sample("IfBranches", 12, source="onnx"):
        kinds = [n["kind"] for n in spec.attrs["nodes"]]
        cond = spec.attrs["nodes"][kinds.index("If")]["inputs"][0]
        conds.add("constant" if isinstance(cond, dict) or kinds[cond] == "Constant"
                  else "computed")
    assert conds == {"constant", "computed"}
    ratios = {n["attrs"].get("ratio") for spec in sample("LegacyOpsetNet", 12, source="onnx")
              for n in spec.attrs["nodes"] if n["kind"] == "Dropout"}
    assert {0.0, 0.5} <= ratios
