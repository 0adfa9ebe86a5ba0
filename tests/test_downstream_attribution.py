"""Which known issue a failing leg is charged to when its upstream leg already diverged, and
a converter that reproduces the source's own (wrong) output at every size of a free dimension.

A Keras case whose tf2onnx model is wrong fails on the onnx2torch leg too; an onnx2torch entry
recognised by a node it finds in that model (ConvTranspose, IsInf) must not claim the failure
when an entry about the Keras case's own tf2onnx leg recognises it (issue #24)."""

from pathlib import Path

import pytest

from harness.core import known_issues
from harness.core.spec import LayerSpec

ROOT = Path(__file__).resolve().parents[1]
ONNX2TORCH_LEG = "keras>tf2onnx>onnx2torch"


def _received(*nodes):
    from onnx import helper

    from harness.converters import Artifact

    graph = helper.make_graph(list(nodes), "g", [], [])
    return Artifact("onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def _charged(spec: LayerSpec, leg: str, received, category: str, message: str) -> str:
    """The id of the entry the pipeline's judge picks: the first candidate that recognises
    the failure. The ONNX source's entries are put first, so that the answer does not hang on
    the order the files load in."""
    issues = sorted(known_issues.load(), key=lambda issue: issue.source != "onnx")
    for issue in known_issues.candidates(issues, spec, leg, received):
        if issue.matches_failure(category, message):
            return issue.id
    return ""


def test_a_conv_transpose_shape_from_tf2onnx_is_not_onnx2torchs_output_shape_bug():
    pytest.importorskip("onnx")
    from onnx import helper

    spec = LayerSpec("Conv2DTranspose", {
        "filters": 1, "kernel_size": [1, 1], "strides": [1, 2], "padding": "valid",
        "output_padding": [0, 1], "dilation_rate": [1, 1], "use_bias": False,
        "activation": "linear", "data_format": "channels_first"},
        ((1, 1, 1, 1),), free_dims=("batch", "spatial"))
    # tf2onnx's model of it: a ConvTranspose without output_shape, then Slice and Pad.
    received = _received(helper.make_node("ConvTranspose", ["x", "w"], ["y"]))
    message = "The shapes do not match: (1, 1, 1, 1) != (1, 1, 1, 2) (expected)."
    onnx2torchs = {i.id: i for i in known_issues.load()}["onnx2torch-conv-transpose-output-shape"]
    assert onnx2torchs.matches_case(spec, ONNX2TORCH_LEG, received)  # it still finds its op
    assert _charged(spec, ONNX2TORCH_LEG, received, "shape_mismatch", message) == \
        "tf2onnx-conv-transpose-free-spatial-channels-first-last-axis"


def test_a_float64_logsumexp_from_tf2onnx_is_not_onnx2torchs_isinf_bug():
    pytest.importorskip("onnx")
    from onnx import helper

    spec = LayerSpec("Softmax", {"axis": [1, 2]}, ((1, 1, 2),), dtype="float64")
    # tf2onnx's reduce_logsumexp guards its max with IsFinite: Not(Or(IsInf, IsNaN)).
    received = _received(helper.make_node("IsInf", ["x"], ["y"]))
    message = "Tensor-likes are not close!"
    assert _charged(spec, ONNX2TORCH_LEG, received, "numeric_mismatch", message) == \
        "tf2onnx-log-double-through-float"


def test_an_onnx_cases_own_conv_transpose_failure_is_still_onnx2torchs():
    spec = LayerSpec("ConvTranspose", {"kernel_shape": [1, 2, 1], "output_shape": [1, 1, 1],
                                       "opset": 17}, ((1, 1, 1, 1, 1),), source="onnx")
    assert _charged(spec, "onnx>onnx2torch", None, "shape_mismatch",
                    "The shapes do not match") == "onnx2torch-conv-transpose-output-shape"


def test_a_converter_that_reproduces_the_sources_bias_bug_passes_at_every_size():
    """Keras adds a channels_first SeparableConv1D's bias along the length axis where the
    length equals the filters (keras-add-bias-nhwc-channels-first); tf2onnx converts the graph
    as it is. The keras leg is that entry's xfail; the converter legs reproduce the source's
    own output, at the case's size and at the further batch size alike, and pass."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    from harness.core.tolerance import TolerancePolicy
    from harness.run.pipeline import Harness

    spec = LayerSpec("SeparableConv1D", {
        "filters": 2, "kernel_size": [1], "strides": [1], "padding": "valid",
        "dilation_rate": [1], "depth_multiplier": 1, "use_bias": True, "activation": "linear",
        "data_format": "channels_first"}, ((1, 1, 2),), free_dims=("batch",),
        more_shapes=(((3, 1, 2),),))
    harness = Harness("keras>tf2onnx>ort-optimized",
                      policy=TolerancePolicy.from_pyproject(ROOT / "pyproject.toml"))
    legs = {leg.leg: leg for leg in harness.run(spec).legs}
    assert legs["keras"].verdict == "xfail"
    assert legs["keras"].known_issue["id"] == "keras-add-bias-nhwc-channels-first"
    for name in ("keras>tf2onnx", "keras>tf2onnx>ort-optimized"):
        assert legs[name].verdict == "pass", (name, legs[name].message)
