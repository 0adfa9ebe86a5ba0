"""ONNX files whose graph inputs or outputs declare no shape (a tensor of any rank), as
``onnx.helper.make_tensor_value_info(name, type, None)`` writes them: ONNX's IR allows it,
onnxruntime runs them, onnx.checker refuses them.

An input without a shape read as a scalar before, so ``parity check`` drew a 0-d input for a
model of any rank and "agreed" on it; it is now undrawable, with what ``--inputs`` holds, and
``--inputs`` may give it any shape. A shapeless output passes everything but onnx-simplifier,
which runs the checker first (the known issue ``onnxsim-checker-refuses-shapeless-graph-io``).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxsim")

from onnx import TensorProto, helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402

ENTRY = "onnxsim-checker-refuses-shapeless-graph-io"


def relu(tmp_path, input_shape, output_shape):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    path = tmp_path / "relu.onnx"
    onnx.save(model, path)
    return path


def test_onnxsim_refuses_a_shapeless_graph_output_as_a_known_issue(tmp_path):
    outcome = run_check(CheckOptions(model=relu(tmp_path, [2, 3], None), report=None,
                                     paths="onnx>onnxsim,onnx>onnxslim,onnx>ort-optimized"))
    rows = {row.leg: row for row in outcome.rows}
    assert (rows["onnx>onnxsim"].known_issue or {}).get("id") == ENTRY, \
        rows["onnx>onnxsim"].message
    for leg in ("onnx>onnxslim", "onnx>ort-optimized"):
        assert rows[leg].verdict == "agrees", (leg, rows[leg].message)
    # the same graph with its output's shape written simplifies: the entry is the shape alone
    declared = run_check(CheckOptions(model=relu(tmp_path, [2, 3], [2, 3]), report=None,
                                      paths="onnx>onnxsim"))
    assert [row.verdict for row in declared.rows] == ["agrees"]


def test_an_input_of_any_rank_is_undrawable_and_checked_at_the_shape_given(tmp_path):
    from harness.check import CheckError

    path = relu(tmp_path, None, None)
    with pytest.raises(CheckError) as refused:
        run_check(CheckOptions(model=path, report=None, paths="onnx>ort-optimized"))
    said = str(refused.value)
    assert "input 'x' declares no shape" in said and "'x' any shape float32" in said, said
    given = tmp_path / "inputs.npz"
    np.savez(given, x=np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4))
    checked = run_check(CheckOptions(model=path, inputs=str(given), report=None,
                                     paths="onnx>onnx2pytorch,onnx>ort-optimized"))
    assert [row.verdict for row in checked.rows] == ["agrees", "agrees"], \
        [row.message for row in checked.rows]
    assert checked.exit_code == 0
