"""Graph outputs that no node produces, or that repeat, in files written with ``onnx.helper``:
a graph input passed through as an output, an initializer listed as an output (a constant
output, as constant folding leaves one), one value listed twice.

onnxruntime returns each as listed. onnx2torch maps every graph output to its producing node
(``onnx2torch-graph-outputs-by-node``: KeyError where there is none, one output for a value
listed twice); onnx2pytorch collects its outputs from what its forward computed
(``onnx2pytorch-initializer-graph-output``: KeyError for an initializer). Before, both read as
unclaimed errors on a user's file, the entry naming Split and TopK alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core.structure import (  # noqa: E402
    graph_output_an_initializer,
    graph_outputs_not_whole_nodes,
)

PATHS = "onnx>onnx2torch,onnx>onnx2pytorch,onnx>ort-optimized"
BY_NODE = "onnx2torch-graph-outputs-by-node"
INITIALIZER = "onnx2pytorch-initializer-graph-output"


def relu_graph(outputs: list[str]):
    """Relu(x) = y, the graph's outputs ``outputs`` among x, y and the initializer c."""
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "outputs",
        [value("x", TensorProto.FLOAT, [1, 3])],
        [value(name, TensorProto.FLOAT, [1, 3]) for name in outputs],
        [numpy_helper.from_array(np.float32([[1.0, 2.0, 3.0]]), "c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def checked(tmp_path, outputs):
    path = tmp_path / "outputs.onnx"
    onnx.save(relu_graph(outputs), path)
    return {row.leg: row for row in run_check(CheckOptions(model=path, paths=PATHS,
                                                           report=None)).rows}


def known(row) -> str | None:
    return (row.known_issue or {}).get("id")


@pytest.mark.parametrize(("outputs", "onnx2torch", "onnx2pytorch"), [
    (["x", "y"], BY_NODE, None),  # a graph input passed through
    (["y", "c"], BY_NODE, INITIALIZER),  # an initializer
    (["y", "y"], BY_NODE, None),  # one value twice
], ids=["input-passed-through", "initializer", "listed-twice"])
def test_graph_outputs_no_node_produces_are_known_issues_of_both_converters(
        tmp_path, outputs, onnx2torch, onnx2pytorch):
    rows = checked(tmp_path, outputs)
    assert rows["onnx>ort-optimized"].verdict == "agrees"
    for leg, entry in (("onnx>onnx2torch", onnx2torch), ("onnx>onnx2pytorch", onnx2pytorch)):
        if entry is None:
            assert rows[leg].verdict == "agrees", (leg, rows[leg].message)
        else:
            assert known(rows[leg]) == entry, (leg, rows[leg].verdict, rows[leg].message)


def test_a_plain_graph_is_neither_structure_and_agrees(tmp_path):
    model = relu_graph(["y"])
    assert not graph_outputs_not_whole_nodes(model, None)
    assert not graph_output_an_initializer(model, None)
    rows = checked(tmp_path, ["y"])
    assert all(row.verdict == "agrees" for row in rows.values())


def test_the_structures_read_which_outputs_no_node_produces():
    assert graph_outputs_not_whole_nodes(relu_graph(["x", "y"]), None)
    assert graph_outputs_not_whole_nodes(relu_graph(["c"]), None)
    assert graph_output_an_initializer(relu_graph(["y", "c"]), None)
    assert not graph_output_an_initializer(relu_graph(["x", "y"]), None)


def test_without_the_models_an_entry_scoped_by_structure_alone_claims_nothing():
    """Its words ("KeyError: 'x'") are any converter's: where the judge has no models to run
    its check on (a hunt's later triage), a kind-less entry scoped by a check does not claim
    the failure; with the models, the check decides."""
    from harness.converters import Artifact
    from harness.core import known_issues

    entries = {issue.id: issue for issue in known_issues.load()}
    by_node, initializer = entries[BY_NODE], entries[INITIALIZER]
    assert by_node.structure_scoped and initializer.structure_scoped
    for entry in (by_node, initializer):
        assert not entry.matches_failure("conversion_error", "KeyError: 'x'")
    passed_through = Artifact("onnx", relu_graph(["y", "x"]), ["x"])
    plain = Artifact("onnx", relu_graph(["y"]), ["x"])
    assert by_node.matches_failure("conversion_error", "KeyError: 'x'", (passed_through, None))
    assert not by_node.matches_failure("conversion_error", "KeyError: 'x'", (plain, None))
