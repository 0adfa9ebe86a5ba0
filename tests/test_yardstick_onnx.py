"""The ONNX source's float64 yardstick (harness.sources.onnx.yardstick): a drawn op read again
in float64 by onnx's reference evaluator, with its error model, so that a leg is judged by
the op's own conditioning where the float32 tolerance alone cannot."""

import numpy as np
import pytest

from harness import converters
from harness.core import yardstick
from harness.core.spec import LayerSpec
from harness.core.tolerance import TolerancePolicy
from harness.run.pipeline import Harness
from tests.fakes import onnx_rewrite

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

GROUP_NORM = {"opset": 21, "num_groups": 1, "epsilon": 1e-5, "stash_type": 1,
              "operands": ["in", {"weight": [1], "role": "scale"},
                           {"weight": [1], "role": "beta"}]}


def group_norm(values, **attrs) -> LayerSpec:
    """A GroupNormalization of one group of ``values`` (one channel)."""
    return LayerSpec("GroupNormalization", {**GROUP_NORM, **attrs}, ((1, 1, len(values)),),
                     seed=1, source="onnx",
                     input_overrides=(tuple(enumerate(values)),))


def read(spec):
    from harness.sources.onnx import OnnxSource

    return OnnxSource().read(spec, policy=TolerancePolicy(), device="cpu")


def weights(reading) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in reading.artifact.model.graph.initializer}


def run(spec, stage_name: str, change) -> dict:
    converters.register(onnx_rewrite(stage_name, change))
    try:
        result = Harness(f"onnx>{stage_name}", known_issues=[], diagnose=False).run(spec)
    finally:
        converters.unregister(stage_name)
    (leg,) = result.legs
    return leg


def fused(model) -> None:
    """GroupNormalization of one channel as torch's CPU kernel computes it, in float32:
    ``x * a + b`` with ``a = scale * rstd`` and ``b = bias - mean * a``. Correct, and as well
    conditioned as the op; on a group of equal values ``x * a`` and ``b`` cancel."""
    from onnx import helper

    graph = model.graph
    (node,) = graph.node
    x, scale, bias = node.input
    epsilon = next(a.f for a in node.attribute if a.name == "epsilon")
    eps = helper.make_tensor("eps", 1, [], [epsilon])
    graph.initializer.append(eps)
    steps = [
        ("ReduceMean", [x], ["mean"], {"keepdims": 1}),
        ("Sub", [x, "mean"], ["centred"], {}),
        ("Mul", ["centred", "centred"], ["squares"], {}),
        ("ReduceMean", ["squares"], ["var"], {"keepdims": 1}),
        ("Add", ["var", "eps"], ["var_eps"], {}),
        ("Sqrt", ["var_eps"], ["std"], {}),
        ("Reciprocal", ["std"], ["rstd"], {}),
        ("Mul", [scale, "rstd"], ["a"], {}),
        ("Mul", ["mean", "a"], ["mean_a"], {}),
        ("Sub", [bias, "mean_a"], ["b"], {}),
        ("Mul", [x, "a"], ["xa"], {}),
        ("Add", ["xa", "b"], [node.output[0]], {}),
    ]
    del graph.node[:]
    graph.node.extend(helper.make_node(op, inputs, outputs, **kw)
                      for op, inputs, outputs, kw in steps)


def moved_epsilon(model) -> None:
    """The converter's fault: epsilon 1e-3 where the model says 1e-5."""
    for attribute in model.graph.node[0].attribute:
        if attribute.name == "epsilon":
            attribute.f = 1e-3


def test_the_reading_is_the_op_computed_in_float64_on_the_float32_weights():
    spec = group_norm([0.3, -1.2, 2.5, 0.7])
    reading = read(spec)
    (x,) = reading.inputs
    wide, model = yardstick.split(reading.yardstick, 1)
    (scale,), (bias,) = (w.astype(np.float64) for w in weights(reading).values())
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean()) / np.sqrt(x64.var() + 1e-5) * scale + bias
    assert wide[0].dtype == np.float64
    # stash_type 1 would take the statistics in float32 (1e-7 off): the yardstick's are float64
    np.testing.assert_allclose(wide[0], expected, rtol=0, atol=1e-12)
    assert 0 < np.abs(model[0] - wide[0]).max() < 1e-5


def test_a_correct_kernel_on_a_group_of_equal_values_passes_by_the_ops_conditioning():
    # var = 0: the op divides by sqrt(epsilon) = 3.2e-3, so float32 storage alone of the
    # inputs moves the output by 1e-5 of the scale; the fused kernel cancels 1e3-sized terms
    leg = run(group_norm([2.0, 2.0]), "fused-group-norm", fused)
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "yardstick"
    measured = leg.metrics["yardstick"]
    assert measured["source_error"] < 1e-7 < 1e-5 < measured["leg_error"]
    assert measured["leg_error"] <= yardstick.K * measured["model_error"]
    assert "float64 yardstick" in leg.note


def test_a_fault_in_an_ill_conditioned_case_still_fails():
    # stash_type 11: onnxruntime's statistics in float64. In float32 (stash_type 1) its
    # E[x^2] - E[x]^2 on this group is 2.5e-3 off float64, and the scale is that error
    leg = run(group_norm([2.0, 2.001], stash_type=11), "group-norm-epsilon", moved_epsilon)
    assert leg.verdict == "fail"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] > 100 * yardstick.K


def test_onnx2pytorch_on_a_group_of_equal_values_passes():
    pytest.importorskip("onnx2pytorch")
    result = Harness("onnx>onnx2pytorch", known_issues=[], diagnose=False).run(
        group_norm([2.0, 2.0], stash_type=11))
    (leg,) = result.legs
    assert leg.verdict == "pass", leg.message


@pytest.mark.parametrize(("spec", "why"), [
    (LayerSpec("Relu", {"opset": 17}, ((2, 3),), dtype="float16", source="onnx"),
     "dtype is float16"),
    (LayerSpec("ArgMax", {"opset": 17, "axis": 1}, ((2, 3),), source="onnx"),
     "not floats (int64)"),
])
def test_a_case_without_a_float64_reading_says_why(spec, why):
    reading = read(spec)
    assert reading.yardstick is None
    assert why in yardstick.missing_reason(spec)


def test_every_size_of_a_free_batch_has_its_own_float64_reading():
    spec = LayerSpec("Softplus", {"opset": 17}, ((1, 3),), seed=2, source="onnx",
                     free_dims=("batch",), more_shapes=(((4, 3),),))
    reading = read(spec)
    ((shapes, inputs, _, wide, _),) = reading.more
    (x,) = inputs
    assert shapes == ((4, 3),)
    outputs, model = yardstick.split(wide, 1)
    np.testing.assert_allclose(outputs[0], np.log1p(np.exp(x.astype(np.float64))),
                               rtol=0, atol=1e-15)
    assert model[0].shape == (4, 3)


def test_the_error_model_moves_the_weights_as_well_as_the_inputs():
    # x = 0 stays 0 when moved relatively: all the error model shows is the bias moved
    spec = LayerSpec("Add", {"opset": 17, "operands": ["in", {"weight": [3], "role": "bias"}]},
                     ((2, 3),), seed=4, source="onnx",
                     input_overrides=(tuple((i, 0.0) for i in range(6)),))
    reading = read(spec)
    (wide,), (model,) = yardstick.split(reading.yardstick, 1)
    (bias,) = weights(reading).values()
    np.testing.assert_array_equal(wide, np.broadcast_to(bias.astype(np.float64), (2, 3)))
    moved = np.abs(model - wide) / np.abs(wide)
    assert 0 < moved.max() <= yardstick.UNIT_ROUNDOFF["float32"]


def test_a_float64_reading_far_from_the_reference_is_no_yardstick():
    """A float64 reading beyond float32 rounding from the reference (half of it off: an
    evaluator that computes otherwise in float64) would scale every leg's error by its own
    mistake: it is dropped, and the record says why."""
    from harness.core import registry
    from harness.sources.onnx import declare_free
    from harness.sources.onnx.yardstick import Float64Model

    spec = group_norm([0.3, -1.2, 2.5, 0.7])
    reading = read(spec)
    wide = Float64Model(spec, registry.get(spec.kind, "onnx"), reading.artifact.model,
                        declare_free)
    assert wide.reading(reading.inputs, reading.reference) is not None
    assert wide.reading(reading.inputs, [y * 1.5 for y in reading.reference]) is None
    assert "not the same computation" in yardstick.missing_reason(spec)
