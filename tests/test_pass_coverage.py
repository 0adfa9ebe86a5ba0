"""harness.tools.pass_coverage (docs/rewriters.md#pass-coverage): a pass fires where the graph
it writes differs from the tool's own re-serialisation, rewiring included; onnxslim's
patterns are counted under their own names."""

from __future__ import annotations

import pytest

from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.tools import pass_coverage

pytest.importorskip("onnxoptimizer")
pytest.importorskip("onnxslim")


def graph(kind: str, nodes, shapes) -> LayerSpec:
    return LayerSpec(kind=kind, source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [len(nodes) - 1]},
                     input_shapes=shapes, dtype="float32", seed=0)


def model(spec: LayerSpec):
    return Harness(known_issues=[]).read_source(spec).artifact.model


TWINS = graph("TwinOps", [{"kind": "Relu", "attrs": {"opset": 17}, "inputs": ["input_0"]},
                          {"kind": "Relu", "attrs": {"opset": 17}, "inputs": ["input_0"]},
                          {"kind": "Add", "attrs": {"opset": 17}, "inputs": [0, 1]}],
              [[2, 3]])
CONV_ADD = graph("ConvConst", [
    {"kind": "Conv", "attrs": {"opset": 17, "kernel_shape": [1, 1]},
     "inputs": ["input_0", {"weight": [2, 1, 1, 1]}, {"weight": [2], "role": "bias"}]},
    {"kind": "Add", "attrs": {"opset": 17}, "inputs": [0, {"weight": [2, 1, 1], "role": "bias"}]},
    {"kind": "Relu", "attrs": {"opset": 17}, "inputs": [1]}], [[1, 1, 2, 2]])


def test_common_subexpression_elimination_fires_though_it_only_rewires():
    tally = pass_coverage.onnxoptimizer_coverage([("TwinOps", model(TWINS))])
    fired = tally.to_json()["fired"]
    assert "eliminate_common_subexpression" in fired
    assert "fuse_bn_into_conv" not in fired  # nothing to fuse: not fired


def test_onnxslim_patterns_are_counted_by_name():
    models = [("ConvConst", model(CONV_ADD)), ("TwinOps", model(TWINS))]
    data = pass_coverage.onnxslim_coverage(models).to_json()
    assert data["fired"]["FusionConvAdd"]["kinds"] == ["ConvConst"]
    assert data["fired"]["subexpression_elimination"]["kinds"] == ["TwinOps"]
    assert "FusionConvBN" in data["never_fired"]


def test_a_pass_that_cannot_fire_is_tabled_with_why_and_its_source_line():
    tally = pass_coverage.Tally(["nop", "fuse_bn_into_conv", "eliminate_nop_flatten"])
    tally.add("eliminate_nop_flatten", "PassTargets", 4, 3)
    text = pass_coverage.table("onnxoptimizer", tally)
    assert "| `nop` | cannot: does nothing by design (onnxoptimizer/passes/nop.h:12) |" in text
    assert "| `fuse_bn_into_conv` | drawn?: not reached |" in text
    assert "| `eliminate_nop_flatten` | 1 | 4 → 3 | PassTargets |" in text
