"""onnx2tf fails on a Conv or ConvTranspose whose weight is fed at run time (a graph input with
no initializer): ``onnx2tf-conv-weight-fed-indexerror``, recognised by the model
(``conv-weight-fed``), so an IndexError of another cause is not claimed by it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.converters import onnx2tf_install
from harness.core import structure

ENTRY = "onnx2tf-conv-weight-fed-indexerror"


def conv(weight: str, op_type: str = "Conv"):
    """A Conv of x (1, 2, 3, 3) with W (2, 2, 1, 1) as ``weight`` says: an initializer, a
    graph input (``fed``), a graph input an initializer backs, or a Constant node."""
    value = helper.make_tensor_value_info
    w = np.ones((2, 2, 1, 1), np.float32)
    inputs = [value("x", TensorProto.FLOAT, [1, 2, 3, 3])]
    initializers, nodes = [], []
    if weight in ("fed", "backed"):
        inputs.append(value("W", TensorProto.FLOAT, [2, 2, 1, 1]))
    if weight in ("initializer", "backed"):
        initializers.append(numpy_helper.from_array(w, "W"))
    if weight == "constant":
        nodes.append(helper.make_node("Constant", [], ["W"],
                                      value=numpy_helper.from_array(w, "w")))
    nodes.append(helper.make_node(op_type, ["x", "W"], ["y"]))
    graph = helper.make_graph(nodes, "conv", inputs,
                              [value("y", TensorProto.FLOAT, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("op_type", ["Conv", "ConvTranspose"])
def test_the_check_holds_where_the_weight_is_fed_and_nowhere_else(op_type):
    assert structure.holds("conv-weight-fed", conv("fed", op_type), None)
    for weight in ("initializer", "backed", "constant"):
        assert not structure.holds("conv-weight-fed", conv(weight, op_type), None), weight


@pytest.mark.skipif(onnx2tf_install.record() is None,
                    reason="onnx2tf is not installed here (parity install onnx2tf)")
def test_a_file_with_a_fed_conv_weight_is_the_known_refusal_and_the_backed_one_agrees(
        tmp_path):
    from harness.check import CheckOptions, run_check

    rows = {}
    for weight in ("fed", "backed"):
        path = tmp_path / f"{weight}.onnx"
        onnx.save(conv(weight), path)
        result = run_check(CheckOptions(model=path, paths="onnx>onnx2tf", report=None))
        rows[weight] = {row.leg: row for row in result.rows}["onnx>onnx2tf"]
    assert rows["fed"].verdict == "error", rows["fed"].message
    assert (rows["fed"].known_issue or {}).get("id") == ENTRY
    assert "IndexError" in rows["fed"].message
    assert rows["backed"].verdict == "agrees", rows["backed"].message
