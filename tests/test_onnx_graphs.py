"""Drawn ONNX graphs (harness/sources/onnx/graphs.py): every drawn graph builds, checks and
runs; nodes carry the names the diagnosis reports; shrinking ends at the fewest nodes; known
issues of an op match the op inside a graph; the per-node diagnosis finds nothing on a
graph that converts and re-runs a node alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings

from harness.core import registry
from harness.core.known_issues import KnownIssue
from harness.core.spec import LayerSpec
from harness.core.strategies import layer_specs, sample
from harness.core.tolerance import TolerancePolicy
from harness.run.pipeline import Harness
from harness.sources import SourceError
from harness.sources.onnx.diagnose import NodeDiagnoser, diagnosable, spec_nodes
from harness.sources.onnx.graphs import FAMILY, build_graph, node_name

pytest.importorskip("onnxruntime")

GRAPHS = sorted(k.name for k in registry.kinds("onnx") if k.family == FAMILY)
# The fewest nodes each kind draws: what a failing graph that needs none of its optional
# parts shrinks to.
FEWEST_NODES = {"ConvBnRelu": 3, "EarlyResizeGraph": 2, "FcAsConv": 2, "FlattenGemm": 2, "GemmChain": 2,
                "GlobalPoolHead": 2, "IfBranches": 1, "LegacyOpsetNet": 3, "MeanSubtract": 2, "PadConv": 2,
                "PadPool": 2,
                "PixelShuffle": 3, "ResizeGraph": 2, "SamePadConv": 17, "ShapeChain": 2,
                "SplitConcat": 2}
SHRINK = settings(database=None, derandomize=True, max_examples=200, deadline=None,
                  phases=[Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))


def test_every_graph_pattern_is_registered():
    assert sorted(FEWEST_NODES) == GRAPHS


@pytest.mark.parametrize("kind", GRAPHS)
def test_drawn_graphs_build_check_and_run(kind):
    harness = Harness(known_issues=[])
    for spec in sample(kind, 6, source="onnx"):
        reading = harness.read_source(spec)  # built, checked in full, read twice
        model = reading.artifact.model
        nodes = spec.attrs["nodes"]
        drawn = spec_nodes(model.graph)  # not the Constant or Shape nodes of its forms
        assert [n.op_type for n in drawn] == [n["kind"] for n in nodes]
        assert [n.name for n in drawn] == [node_name(i, n["kind"]) for i, n in enumerate(nodes)]
        assert all(n["attrs"]["opset"] == spec.attrs["opset"] for n in nodes)
        assert len(reading.reference) == len(spec.attrs["graph_outputs"])
        assert all(np.isfinite(y).all() for y in reading.reference)


@pytest.mark.parametrize("kind", GRAPHS)
def test_the_simplest_graph_has_the_fewest_nodes(kind):
    simplest = find(layer_specs(kind, source="onnx"), lambda spec: True, settings=SHRINK)
    assert len(simplest.attrs["nodes"]) == FEWEST_NODES[kind]


def test_a_failure_needing_one_op_shrinks_to_one_block():
    """A ConvBnRelu case that fails for its LeakyRelu's sake shrinks to one block."""
    def has_leaky_relu(spec):
        return any(node["kind"] == "LeakyRelu" and node["attrs"]["alpha"] != 0.01
                   for node in spec.attrs["nodes"])

    shrunk = find(layer_specs("ConvBnRelu", source="onnx"), has_leaky_relu, settings=SHRINK)
    assert [n["kind"] for n in shrunk.attrs["nodes"]] == ["Conv", "BatchNormalization",
                                                          "LeakyRelu"]
    assert shrunk.attrs["nodes"][2]["attrs"]["alpha"] == 0.2  # the next-simplest alpha


def test_a_known_issue_of_an_op_matches_the_op_inside_a_graph():
    spec = next(s for s in sample("ConvBnRelu", 40, source="onnx")
                if any(n["kind"] == "LeakyRelu" and n["attrs"]["alpha"] == 0.2
                       for n in s.attrs["nodes"]))
    issue = KnownIssue(id="x", url="u", reason="r", legs="onnx>onnx2torch", kind="LeakyRelu",
                       attrs={"alpha": 0.2})
    assert issue.matches_case(spec, "onnx>onnx2torch")
    other = KnownIssue(id="y", url="u", reason="r", legs="onnx>onnx2torch", kind="LeakyRelu",
                       attrs={"alpha": 0.5})
    assert not other.matches_case(spec, "onnx>onnx2torch")
    at_opset = KnownIssue(id="z", url="u", reason="r", legs="onnx", kind="BatchNormalization",
                          attrs={"opset": spec.attrs["opset"]})
    assert at_opset.matches_case(spec, "onnx")


def test_a_nested_op_rule_widens_the_graph_tolerance():
    spec = sample("GemmChain", 1, source="onnx")[0]
    policy = TolerancePolicy.from_table(
        {"rules": [{"source": "onnx", "kind": "Gemm", "atol": 1e-3, "rtol": 1e-3,
                    "reason": "test"}]}, "test")
    tolerance = policy.for_spec(spec, "onnx>onnx2torch", "cpu")
    assert (tolerance.atol, tolerance.rtol) == (1e-3, 1e-3)


def test_a_ref_to_a_later_node_is_a_clear_error():
    attrs = {"opset": 17, "nodes": [{"kind": "Relu", "attrs": {}, "inputs": [1]}],
             "graph_outputs": [0]}
    with pytest.raises(ValueError, match=r"node 0 \(Relu\) input 0: \[1, 0\] names no earlier"):
        build_graph(attrs, [(1, 2)], "float32")
    spec = LayerSpec("GemmChain", attrs, ((1, 2),), source="onnx")
    with pytest.raises(SourceError, match="cannot build the ONNX model of onnx:GemmChain"):
        Harness(known_issues=[]).read_source(spec)


def test_the_diagnosis_of_a_graph_that_converts_finds_no_divergence():
    spec = sample("ConvBnRelu", 1, source="onnx")[0]
    harness = Harness("onnx>onnx2torch", known_issues=[])
    reading = harness.read_source(spec)
    model = reading.artifact.model
    assert diagnosable(model)
    diagnoser = NodeDiagnoser(harness, spec, model, reading.inputs)
    path = harness.paths[0]
    diagnosis = diagnoser.diagnose(path, "onnx>onnx2torch", {"onnx": reading.artifact})
    assert diagnosis["first_divergence"] is None
    assert diagnosis["mapped"] == len(model.graph.node) == diagnosis["layers"]
    assert all(row["passed"] for row in diagnosis["growth"])
    # A node alone on the inputs the reference gave it matches the reference.
    last = model.graph.node[-1].output[0]
    assert diagnoser.isolate(path, "onnx>onnx2torch", last)["passed"] is True


def test_a_single_node_is_not_diagnosed():
    spec = sample("Relu", 1, source="onnx")[0]
    reading = Harness(known_issues=[]).read_source(spec)
    assert not diagnosable(reading.artifact.model)
