"""A rewriter entry claims a failure only where its motif is in the model the stage was given
(its ``where`` check, harness/core/structure/): a message as common as "IndexError: list
index out of range" or "The shapes do not match", raised by another pass or by a fault planted
elsewhere in the same graph, stays a failure. Issue 49: onnxslim's fed-axes entry claimed the
IndexError a fault planted in FusionGemmAdd raised on a PassTargets graph, which has no fed
axes, and the quick gate passed."""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core import known_issues, structure
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness

pytest.importorskip("onnxruntime")

# entry id -> its where check
WHERE = {
    "onnxslim-fed-axes-or-split-read-as-absent": "fed-shape-operand",
    "onnxoptimizer-eliminate-shape-op-empty-slice-crash": "shape-slice-out-of-range",
    "onnxoptimizer-fuse-consecutive-squeezes-negative-axes": "squeeze-of-squeeze-negative-axes",
    "onnxoptimizer-fuse-pad-into-maxpool-zero-pad": "zero-pad-before-maxpool",
    "onnxslim-resize-axes-sizes-indexerror": "resize-with-axes",
    "onnxslim-slice-merge-reads-omitted-steps": "slice-read-by-a-slice-without-steps",
}
ENTRIES = {issue.id: issue for issue in known_issues.load() if issue.id in WHERE}
# Every entry that names a where check, the node converters' too (test_structure_node_where.py)
WHERE_ENTRIES = {issue.id: issue for issue in known_issues.load() if issue.where}
MINIMAL = [(entry, index) for entry, issue in WHERE_ENTRIES.items()
           for index in range(len(issue.minimals))]


def received(spec: LayerSpec):
    return Harness("onnx>onnxslim").read_source(spec).artifact


@pytest.mark.parametrize(("entry", "index"), MINIMAL,
                         ids=[f"{entry}-{index}" for entry, index in MINIMAL])
def test_the_motif_is_in_every_minimal_spec(entry, index):
    issue = WHERE_ENTRIES[entry]
    assert issue.where == WHERE.get(entry, issue.where)
    assert structure.holds(issue.where, *stage_models(issue.minimals[index]))


def stage_models(spec: LayerSpec):
    """The models a where check reads: an ONNX case's model as the stage receives it; a Keras
    case's tf2onnx conversion, where the motif is written (tf2onnx's choices)."""
    if spec.source != "keras":
        return received(spec), None
    from harness.converters import ConvertOptions
    from harness.converters.keras_tf2onnx import from_keras

    keras_model = Harness("keras>tf2onnx").read_source(spec).artifact
    return keras_model, from_keras(keras_model, ConvertOptions())


def graph(nodes: list[dict], shape: tuple[int, ...], opset: int = 17) -> LayerSpec:
    return LayerSpec(kind="PassTargets", source="onnx",
                     attrs={"opset": opset, "nodes": nodes, "graph_outputs": [len(nodes) - 1]},
                     input_shapes=(shape,), dtype="float32", seed=1)


def squeezes(first: list[int]) -> LayerSpec:
    return graph([{"kind": "Squeeze", "attrs": {"opset": 17},
                   "inputs": ["input_0", {"const": first, "dtype": "int64"}]},
                  {"kind": "Squeeze", "attrs": {"opset": 17},
                   "inputs": [0, {"const": [1], "dtype": "int64"}]}], (1, 1, 2, 1))


def pad_pool(pool: str, value: float) -> LayerSpec:
    return graph([{"kind": "Pad", "attrs": {"opset": 17, "mode": "constant"},
                   "inputs": ["input_0", {"const": [0, 0, 0, 0, 0, 0, 1, 0], "dtype": "int64"},
                              {"const": value, "dtype": "float32"}]},
                  {"kind": pool, "attrs": {"opset": 17, "kernel_shape": [2, 2]},
                   "inputs": [0]}], (1, 1, 3, 2))


def slice_readers(second_steps: bool, readers: int = 2) -> LayerSpec:
    """Slice(axes [-2]) of input_0 read by ``readers`` Slices along the last axis, the last
    with its steps left out unless ``second_steps``."""
    def operand(value):
        return {"const": [value], "dtype": "int64"}

    first = {"kind": "Slice", "attrs": {"opset": 17},
             "inputs": ["input_0", operand(0), operand(1), operand(-2), operand(1)]}
    read = [{"kind": "Slice", "attrs": {"opset": 17},
             "inputs": [0, operand(0), operand(1), operand(-1), operand(1)]}
            for _ in range(readers)]
    if not second_steps:
        read[-1]["inputs"] = read[-1]["inputs"][:4]
    return LayerSpec(kind="SliceSlice", source="onnx",
                     attrs={"opset": 17, "nodes": [first, *read],
                            "graph_outputs": list(range(1, readers + 1))},
                     input_shapes=((1, 2, 2),), dtype="float32", seed=0)


@pytest.mark.parametrize(("check", "spec", "holds"), [
    ("slice-read-by-a-slice-without-steps", slice_readers(False), True),
    ("slice-read-by-a-slice-without-steps", slice_readers(True), False),
    ("slice-read-by-a-slice-without-steps", slice_readers(False, readers=1), False),
    ("squeeze-of-squeeze-negative-axes", squeezes([-1]), True),
    ("squeeze-of-squeeze-negative-axes", squeezes([3]), False),
    ("zero-pad-before-maxpool", pad_pool("MaxPool", 0.0), True),
    ("zero-pad-before-maxpool", pad_pool("MaxPool", -1.0), False),
    ("zero-pad-before-maxpool", pad_pool("AveragePool", 0.0), False),
], ids=["slices-one-without-steps", "slices-all-with-steps", "one-slice-without-steps",
        "squeeze-negative", "squeeze-positive", "maxpool-zero", "maxpool-minus-one",
        "averagepool"])
def test_each_check_tells_the_motif_from_its_twin(check, spec, holds):
    assert structure.holds(check, received(spec), None) is holds


def test_a_common_message_without_the_motif_is_no_known_issue():
    """The fed-axes entry's IndexError, raised on a graph whose Squeeze axes are constants,
    is a failure: the bug needs a fed operand."""
    issue = ENTRIES["onnxslim-fed-axes-or-split-read-as-absent"]
    message = "onnxslim raised IndexError: list index out of range"
    fed = received(issue.minimals[1])
    assert issue.matches_failure("conversion_error", message, (fed, None))
    constant = received(squeezes([3]))
    assert not structure.holds("fed-shape-operand", constant, None)
    assert not issue.matches_failure("conversion_error", message, (constant, None))
