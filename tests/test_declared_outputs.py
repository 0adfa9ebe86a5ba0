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


# -- the onnx source declares its outputs as they read ----------------------------------------

CEIL_POOL = LayerSpec("AveragePool", {"opset": 17, "ceil_mode": 1, "kernel_shape": [2],
                                      "strides": [3], "pads": [0, 1]},
                      ((1, 1, 3),), source="onnx", seed=0)


def declared(model, index=0):
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in model.graph.output[index].type.tensor_type.shape.dim]


def test_the_source_declares_an_output_as_both_readings_return_it():
    """AveragePool(kernel 2, strides 3, pads [0, 1], ceil_mode) of (1, 1, 3): the second window
    would start past the input and its left padding; onnxruntime and the evaluator drop it
    (length 1), onnx's shape inference counts it (2). The source's model declares 1."""
    import onnx

    from harness.core.registry import get
    from harness.core.tolerance import TolerancePolicy
    from harness.sources.onnx import OnnxSource

    built = get("AveragePool", "onnx").build_model(dict(CEIL_POOL.attrs), [(1, 1, 3)], "float32")
    assert declared(onnx.shape_inference.infer_shapes(built)) == [1, 1, 2]
    reading = OnnxSource().read(CEIL_POOL, policy=TolerancePolicy())
    assert reading.native is None  # the two readings agree
    assert reading.reference[0].shape == (1, 1, 1)
    assert declared(reading.artifact.model) == [1, 1, 1]


def test_a_free_batch_stays_symbolic_and_a_size_that_varies_unknown():
    import numpy as np
    from onnx import TensorProto, helper

    from harness.sources.onnx.build import declare_outputs_as_read

    value = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 5, 7])
    graph = helper.make_graph([], "g", [value], [value])
    model = helper.make_model(graph)
    at = [[np.zeros((1, 2, 4, 6))], [np.zeros((3, 2, 4, 9))]]
    redeclared = declare_outputs_as_read(model, at)
    assert declared(redeclared) == ["N", 2, 4, None]
    assert declared(model) == ["N", 2, 5, 7], "the model itself is left as built"
    agreeing = [[np.zeros((1, 2, 5, 7))], [np.zeros((3, 2, 5, 7))]]
    assert declare_outputs_as_read(model, agreeing) is model
    assert declared(declare_outputs_as_read(model, [[np.zeros((2, 3))]])) == [2, 3]


def test_where_the_readings_disagree_the_declaration_is_inferences():
    """MaxPool SAME_UPPER with dilations: onnxruntime returns a window short (its known
    issue) and the evaluator, the reference, the spec's length: nothing is redeclared from
    a reading that is not agreed."""
    from harness.core.tolerance import TolerancePolicy
    from harness.sources.onnx import OnnxSource

    spec = LayerSpec("MaxPool", {"opset": 17, "auto_pad": "SAME_UPPER", "dilations": [2],
                                 "kernel_shape": [2]}, ((1, 1, 2),), source="onnx", seed=0)
    reading = OnnxSource().read(spec, policy=TolerancePolicy())
    assert reading.native is not None and reading.native[0].shape == (1, 1, 1)
    assert declared(reading.artifact.model) == [1, 1, 2] == list(reading.reference[0].shape)


def test_onnx2tf_is_not_blamed_for_the_shape_onnx_inferred():
    """Before the source declared its outputs as read, parity's onnx2tf stage compared
    onnx2tf's right (1, 1, 1) with the declared (1, 1, 2) and failed the leg."""
    from harness.converters import onnx2tf_install

    if onnx2tf_install.record() is None:
        pytest.skip("onnx2tf is not installed here: `parity install onnx2tf` (CI runs it)")
    (leg,) = [leg for leg in Harness("onnx>onnx2tf").run(CEIL_POOL).legs
              if leg.leg == "onnx>onnx2tf"]
    assert leg.verdict == "pass", leg.message
