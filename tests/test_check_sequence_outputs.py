"""A graph whose output is an ONNX sequence (SplitToSequence), checked as a user's file.

onnxruntime hands a sequence over as a list; a converted module returns one as a list or
tuple of tensors, and torch.onnx.export writes each tensor of a returned list as an output of
its own. parity ran only tensors through its torch runner and compared only output counts, so
a right onnx2pytorch module read as "torch raised AttributeError: 'list' object has no
attribute 'detach'" (a sequence beside a tensor) or "the leg produced 4 outputs, the source 1"
(a sequence alone). These tests run the real converters on graphs written here, as
``onnx.helper`` writes them, and the comparison on planted differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
pytest.importorskip("onnx2pytorch")

from onnx import TensorProto, helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core.compare import Tolerance, as_returned, compare_outputs  # noqa: E402
from harness.runtimes.torch import ModuleOutputError, run_module  # noqa: E402

TOLERANCE = Tolerance(1e-5, 1e-5)
SEQUENCE = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT,
                                                                        None))


def sequence_model(beside: bool):
    """x (1, 4) split into a sequence of four (1, 1) tensors; ``beside``: Relu(x) as a second
    output."""
    nodes = [helper.make_node("SplitToSequence", ["x"], ["pieces"], axis=1)]
    outputs = [helper.make_value_info("pieces", SEQUENCE)]
    if beside:
        nodes.append(helper.make_node("Relu", ["x"], ["relu"]))
        outputs.append(helper.make_tensor_value_info("relu", TensorProto.FLOAT, [1, 4]))
    graph = helper.make_graph(nodes, "sequence", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize("beside", [False, True], ids=["sequence-alone", "sequence-and-tensor"])
def test_onnx2pytorch_returning_the_sequence_agrees(tmp_path, beside):
    path = tmp_path / "sequence.onnx"
    onnx.save(sequence_model(beside), path)
    outcome = run_check(CheckOptions(model=path, paths="onnx>onnx2pytorch,onnx>ort-optimized",
                                     report=None))
    rows = {row.leg: row for row in outcome.rows}
    for leg in ("onnx>onnx2pytorch", "onnx>ort-optimized"):
        assert rows[leg].verdict == "agrees", (leg, rows[leg].message)
    assert outcome.exit_code == 0


def test_a_sequence_returned_inside_the_outputs_stays_a_list():
    class Pieces(torch.nn.Module):
        def forward(self, x):
            return list(torch.split(x, 1, dim=1)), torch.relu(x)

    x = np.array([[1.0, -2.0, 3.0]], np.float32)
    pieces, relu = run_module(Pieces().eval(), [x])
    assert [p.tolist() for p in pieces] == [[[1.0]], [[-2.0]], [[3.0]]]
    np.testing.assert_array_equal(relu, np.maximum(x, 0))


def test_a_module_returning_none_is_named_as_its_output_not_a_torch_failure():
    class Nothing(torch.nn.Module):
        def forward(self, x):
            return x, None

    with pytest.raises(ModuleOutputError, match=r"a NoneType as its output \[1\]"):
        run_module(Nothing().eval(), [np.zeros((1, 2), np.float32)])


def test_tensors_returned_for_a_lone_sequence_are_that_sequence_and_compared_element_wise():
    reference = [[np.float32([[0.0]]), np.float32([[1.0]]), np.float32([[2.0]])]]
    same = [np.float32([[0.0]]), np.float32([[1.0]]), np.float32([[2.0]])]
    assert all(c.passed for c in compare_outputs(same, reference, TOLERANCE))
    swapped = [same[1], same[0], same[2]]
    (comparison,) = compare_outputs(swapped, reference, TOLERANCE)
    assert not comparison.passed and "[0]" in comparison.message
    (short,) = compare_outputs(same[:2], reference, TOLERANCE)
    assert not short.passed and "the reference has 3" in short.message
    (empty,) = compare_outputs([], [[]], TOLERANCE)
    assert empty.passed


def test_flattened_outputs_are_compared_with_the_references_tensors_in_order():
    sequence = [np.float32([1.0]), np.float32([2.0])]
    tensor = np.float32([5.0, 6.0])
    reference = [sequence, tensor]
    flat = [np.float32([1.0]), np.float32([2.0]), np.float32([5.0, 6.0])]
    assert all(c.passed for c in compare_outputs(flat, reference, TOLERANCE))
    wrong = [flat[0], flat[1], np.float32([5.0, 7.0])]
    assert [c.passed for c in compare_outputs(wrong, reference, TOLERANCE)] == [True, True,
                                                                                  False]
    # a count that matches neither reading stays a count mismatch
    (mismatch,) = compare_outputs([*flat, tensor], reference, TOLERANCE)
    assert mismatch.category == "shape_mismatch"
    assert mismatch.message == "the leg produced 4 outputs, the source 2"
    # nested outputs, or a reference without sequences, are taken as they are
    nested = [[np.float32([1.0]), np.float32([2.0])], tensor]
    assert as_returned(nested, reference) == (nested, reference)
    plain = [tensor]
    assert as_returned(flat, plain) == (flat, plain)
