"""A stage whose ONNX model declares its outputs with other shapes than it returns fails its
leg as a shape mismatch, its values right or not; a declaration the stage was given and only
kept is not its fault (harness.converters.onnx_ir.outputs_declared_wrong)."""

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness import converters
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness

from .fakes import onnx_rewrite

pytest.importorskip("onnxruntime")

RELU = LayerSpec("Relu", {"opset": 17}, ((2, 3),), source="onnx", seed=0)


def declare_first_output(dims):
    def change(model):
        shape = model.graph.output[0].type.tensor_type.shape
        del shape.dim[:]
        for size in dims:
            shape.dim.add().dim_value = size
    return change


@pytest.fixture
def stages():
    made = [onnx_rewrite("onnx-declares-3x2", declare_first_output((3, 2))),
            onnx_rewrite("onnx-declares-2x3", declare_first_output((2, 3)))]
    for stage in made:
        converters.register(stage)
    yield
    for stage in made:
        converters.unregister(stage.name)


def test_a_stage_that_declares_an_output_its_model_does_not_return_fails(stages):
    [wrong, right] = Harness("onnx>onnx-declares-3x2,onnx>onnx-declares-2x3",
                             diagnose=False).run(RELU).legs
    assert (wrong.verdict, wrong.category, wrong.blame) == ("fail", "shape_mismatch",
                                                            "onnx-declares-3x2"), wrong.message
    assert wrong.message.startswith(
        "the ONNX model this stage wrote declares its outputs wrong: output 0 ('output_0') "
        "is declared 3x2 but returns 2x3"), wrong.message
    assert right.verdict == "pass", right.message


def test_a_wrong_declaration_the_stage_was_given_is_not_its_own():
    """A stage that keeps the contradicting declaration of the model it was given (a user's
    file that declares its output wrong) is not blamed for it; one that writes it is."""
    import numpy as np
    from onnx import TensorProto, helper

    from harness.converters import Artifact
    from harness.converters.onnx_ir import outputs_declared_wrong

    def relu(dims):
        graph = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
        return Artifact("onnx", helper.make_model(graph), ["x"])

    returned = [np.zeros((2, 3), np.float32)]
    wrong, right, free = relu([3, 2]), relu([2, 3]), relu(["N", 3])
    assert outputs_declared_wrong(wrong, wrong, returned) == ""
    assert outputs_declared_wrong(wrong, right, returned).endswith(
        "output 0 ('y') is declared 3x2 but returns 2x3 (the values agree with the source; "
        "what reads the declared shape, an allocator, TensorRT, onnx2tf, gets the wrong one)")
    assert outputs_declared_wrong(wrong, None, returned) != ""
    assert outputs_declared_wrong(free, None, returned) == ""
    assert outputs_declared_wrong(relu([2, 3, 1]), None, returned).endswith(
        "is declared 2x3x1 but returns 2x3 (the values agree with the source; what reads "
        "the declared shape, an allocator, TensorRT, onnx2tf, gets the wrong one)")


def test_a_free_batch_declared_fixed_fails_at_the_further_size_only(stages):
    """A model declared at the first size's batch returns the second size's: the leg fails
    there, and says it passed at the first."""
    from harness.core import free_dims

    spec = free_dims.with_free(RELU, ("batch",))
    [leg] = Harness("onnx>onnx-declares-2x3", diagnose=False).run(spec).legs
    assert (leg.verdict, leg.category) == ("fail", "shape_mismatch"), leg.message
    assert leg.message.startswith("at input shapes "), leg.message
    assert "is declared 2x3 but returns " in leg.message
