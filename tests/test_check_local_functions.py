"""A user's ONNX file whose graph calls functions the model defines (``ModelProto.functions``,
IR 8 and later), as ``torch.onnx.export(..., export_modules_as_functions=...)`` writes one.

onnxruntime and the rewriters run them; onnx2torch and onnx2pytorch read the graph's nodes
alone and refuse the first that calls a function (``onnx2torch-model-local-functions``,
``onnx2pytorch-model-local-functions``). Before, both legs read as unclaimed refusals of an op
named after the function. The same model inlined converts on every leg.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")

from onnx import TensorProto, helper, inliner, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core.structure import calls_a_local_function  # noqa: E402

PATHS = "onnx>onnx2torch,onnx>onnx2pytorch,onnx>ort-optimized"
REFUSALS = {"onnx>onnx2torch": "onnx2torch-model-local-functions",
            "onnx>onnx2pytorch": "onnx2pytorch-model-local-functions"}


def scaled_relu():
    """``Block(x, w) = Relu(x * w)``, a function in domain ``blocks``."""
    return helper.make_function(
        "blocks", "Block", ["x", "w"], ["y"],
        [helper.make_node("Mul", ["x", "w"], ["scaled"]),
         helper.make_node("Relu", ["scaled"], ["y"])],
        opset_imports=[helper.make_opsetid("", 17)])


def model_calling(function_domain: str = "blocks", *, define: bool = True):
    """Two calls of Block (each with its own weights), then a Sigmoid."""
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Block", ["x", "w1"], ["h"], domain=function_domain),
         helper.make_node("Block", ["h", "w2"], ["z"], domain=function_domain),
         helper.make_node("Sigmoid", ["z"], ["out"])], "calls",
        [value("x", TensorProto.FLOAT, [2, 3])], [value("out", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.float32([[0.5, -1.0, 2.0]]), "w1"),
         numpy_helper.from_array(np.float32([[1.5, 0.25, -0.75]]), "w2")])
    model = helper.make_model(
        graph, functions=[scaled_relu()] if define else [],
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(function_domain, 1)])
    model.ir_version = 10
    return model


def checked(tmp_path, model):
    path = tmp_path / "functions.onnx"
    onnx.save(model, path)
    result = run_check(CheckOptions(model=path, paths=PATHS, report=None))
    return {row.leg: row for row in result.rows}, result


def test_a_node_that_calls_a_local_function_is_a_known_refusal_of_both_converters(tmp_path):
    model = model_calling()
    onnx.checker.check_model(model, full_check=True)
    rows, result = checked(tmp_path, model)
    assert rows["onnx>ort-optimized"].verdict == "agrees"
    for leg, entry in REFUSALS.items():
        assert rows[leg].verdict == "unsupported", (leg, rows[leg].verdict, rows[leg].message)
        assert (rows[leg].known_issue or {}).get("id") == entry, (leg, rows[leg].message)
    notes = " ".join(result.notes)
    assert "calls functions the model defines (blocks.Block: 2 nodes)" in notes, notes
    assert "onnx.inliner.inline_local_functions" in notes


def test_the_same_model_inlined_agrees_on_every_leg(tmp_path):
    """The entries' workaround, run: nothing of the model but the functions' calls changes."""
    inlined = inliner.inline_local_functions(model_calling())
    assert not inlined.functions and not calls_a_local_function(inlined, None)
    rows, result = checked(tmp_path, inlined)
    assert {leg: row.verdict for leg, row in rows.items()} == dict.fromkeys(rows, "agrees")
    assert not any("functions the model defines" in note for note in result.notes)


def test_an_op_of_a_domain_no_function_defines_is_not_the_entry(tmp_path):
    """A custom op with no function behind it is refused by onnxruntime too: another fault,
    which these entries must not claim."""
    undefined = model_calling(define=False)
    assert not calls_a_local_function(undefined, None)
    assert calls_a_local_function(model_calling(), None)
    # A function of another domain than the one the nodes call is no definition of theirs.
    mismatched = model_calling("blocks")
    mismatched.functions[0].domain = "other"
    assert not calls_a_local_function(mismatched, None)
