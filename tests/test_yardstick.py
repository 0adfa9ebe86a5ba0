"""The float64 yardstick (harness.core.yardstick) and legs run at every size of a case."""

import numpy as np
import pytest

from harness import converters
from harness.core import yardstick
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from tests.fakes import Fake, perturbed_weights

pytest.importorskip("tensorflow")
pytest.importorskip("onnxruntime")

DENSE = LayerSpec("Dense", {"units": 5, "use_bias": True, "activation": "linear"}, ((2, 7),),
                  seed=3)
ONNX_LEG = "keras>tf2onnx"


def read(spec):
    from harness.core.tolerance import TolerancePolicy
    from harness.sources.keras import KerasSource

    return KerasSource().read(spec, policy=TolerancePolicy(), device="cpu")


@pytest.fixture(scope="module")
def dense():
    """The Dense case read by its source, and its tf2onnx artifact (what a golden case
    stores), so that replays run the real onnxruntime leg."""
    reading = read(DENSE)
    onnx = converters.get("tf2onnx").convert(reading.artifact, converters.ConvertOptions())
    return reading, {ONNX_LEG: onnx}


def replay(dense, **kwargs):
    reading, stored = dense
    kwargs.setdefault("expected", reading.reference)
    kwargs.setdefault("inputs", reading.inputs)
    kwargs.setdefault("yardstick", reading.yardstick)
    result = Harness(ONNX_LEG, known_issues=[], diagnose=False).replay(
        DENSE, kwargs.pop("inputs"), kwargs.pop("expected"), stored, **kwargs)
    (leg,) = result.legs
    return leg


def onnx_outputs(dense, inputs):
    from harness.runtimes import runner_for

    _, stored = dense
    return runner_for("onnx", "cpu", 1).run(stored[ONNX_LEG], inputs)


def test_the_reading_is_the_layer_computed_in_float64(dense):
    reading, _ = dense
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in reading.artifact.model.get_weights())
    (x,) = reading.inputs
    (y64,) = reading.yardstick
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64, x.astype(np.float64) @ kernel + bias, rtol=0, atol=1e-12)
    source_error = float(np.abs(reading.reference[0] - y64).max())
    assert 0 < source_error < 1e-5  # float32's own rounding, not a different computation


def test_a_float64_case_has_no_yardstick_and_says_why():
    spec = LayerSpec("Dense", {"units": 3}, ((1, 4),), dtype="float64", seed=1)
    assert read(spec).yardstick is None
    assert yardstick.missing_reason(spec) == "the case computes in float64"


def test_ratio_is_the_legs_error_over_the_sources():
    wide = [np.array([1.0, 2.0, 3.0])]
    reference = [np.array([1.0, 2.0 + 1e-4, 3.0], dtype=np.float32)]
    leg = [np.array([1.0, 2.0, 3.0 + 3e-4], dtype=np.float32)]
    measured = yardstick.measure(leg, reference, wide)
    assert measured["source_error"] == pytest.approx(1e-4, rel=1e-2)
    assert measured["leg_error"] == pytest.approx(3e-4, rel=1e-2)
    assert measured["ratio"] == pytest.approx(3.0, rel=1e-2)
    assert yardstick.measure(leg, reference, [np.zeros(2)]) is None  # shapes differ


def test_an_exact_source_leaves_only_the_floor():
    exact = [np.array([1.0, -2.0, 0.5])]
    reference = [exact[0].astype(np.float32)]
    within = yardstick.measure([reference[0] + np.float32(yardstick.FLOOR / 2)], reference, exact)
    beyond = yardstick.measure([reference[0] + np.float32(1e-4)], reference, exact)
    assert within["source_error"] == beyond["source_error"] == 0.0
    assert yardstick.rescues(within) and within["ratio"] <= yardstick.K
    assert not yardstick.rescues(beyond) and beyond["ratio"] > yardstick.K
    assert yardstick.measure(reference, reference, exact)["ratio"] == 0.0


def test_the_error_model_scales_a_source_whose_kernels_round_less():
    """Eigen's convolutions (no oneDNN) land closer to float64 than oneDNN's: the same
    correct leg must pass against either, because the scale is the larger of the source's
    error and the error model's, which no float32 kernel decides."""
    wide = [np.array([1.0, 2.0, 3.0])]
    leg = [np.array([1.0, 2.0, 3.0 + 3e-3], dtype=np.float32)]
    model = [np.array([1.0, 2.0 + 1e-3, 3.0])]
    for source_error in (2.7e-4, 1.4e-3):  # Eigen's, oneDNN's (MobileNetV2, one thread)
        reference = [np.array([1.0, 2.0, 3.0 + source_error], dtype=np.float32)]
        alone = yardstick.measure(leg, reference, wide)
        modelled = yardstick.measure(leg, reference, yardstick.with_model(wide, model))
        assert modelled["model_error"] == pytest.approx(1e-3)
        assert modelled["ratio"] == pytest.approx(3e-3 / max(source_error, 1e-3), rel=1e-3)
        assert yardstick.rescues(modelled)
        assert "model_error" not in alone
    assert not yardstick.rescues(yardstick.measure(leg, [np.float32(wide[0] + [0, 0, 2.7e-4])],
                                                   wide))  # the source's error alone: ratio 11


def test_the_error_model_moves_weights_and_inputs_by_the_unit_roundoff_from_the_seed():
    weights = [np.linspace(-1, 1, 1000).astype(np.float32), np.arange(4, dtype=np.int32)]
    spec = LayerSpec("Dense", {"units": 3}, ((1, 4),), seed=7)
    first = yardstick.perturbed(weights, "float32", yardstick.model_rng(spec))
    again = yardstick.perturbed(weights, "float32", yardstick.model_rng(spec))
    np.testing.assert_array_equal(first[0], again[0])
    relative = np.abs(first[0] / weights[0].astype(np.float64) - 1)
    assert 0 < relative.max() <= 2.0 ** -24
    assert relative.max() > 0.9 * 2.0 ** -24
    assert first[1] is weights[1] or np.array_equal(first[1], weights[1])
    half = yardstick.perturbed(weights, "float16", yardstick.model_rng(spec))
    assert np.abs(half[0] / weights[0] - 1).max() > 2.0 ** -12


def test_a_leg_outside_its_tolerance_but_within_the_sources_error_passes(dense):
    reading, _ = dense
    outputs = onnx_outputs(dense, reading.inputs)
    # A source 4e-5 from the float64 truth (beyond atol 1e-5); the leg 6e-5 from it.
    truth = [o.astype(np.float64) + 6e-5 for o in outputs]
    source = [(t - 4e-5).astype(np.float32) for t in truth]
    leg = replay(dense, expected=source, yardstick=truth)
    assert leg.verdict == "pass"
    assert leg.metrics["judged_by"] == "yardstick"
    assert leg.metrics["yardstick"]["ratio"] == pytest.approx(1.5, rel=0.05)
    assert "float64 yardstick" in leg.note


def test_a_leg_far_beyond_the_sources_error_still_fails(dense):
    reading, _ = dense
    outputs = onnx_outputs(dense, reading.inputs)
    truth = [o.astype(np.float64) + 6e-5 for o in outputs]
    leg = replay(dense, expected=[t.astype(np.float32) for t in truth], yardstick=truth)
    assert leg.verdict == "fail"
    assert leg.category == "numeric_mismatch"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] > yardstick.K


def test_a_shape_mismatch_is_never_rescued(dense):
    reading, _ = dense
    leg = replay(dense, expected=[reading.reference[0][:1]], yardstick=[reading.yardstick[0][:1]])
    assert leg.verdict == "fail"
    assert leg.category == "shape_mismatch"
    assert "yardstick" not in leg.metrics


def test_every_size_runs_and_the_failing_size_is_named(dense):
    from harness.core.inputs import make_inputs

    reading, _ = dense
    at3, at4 = DENSE.at_shapes(((3, 7),)), DENSE.at_shapes(((4, 7),))
    x3, x4 = make_inputs(at3), make_inputs(at4)
    y3, y4 = read(at3).reference, read(at4).reference
    passing = replay(dense, more=((at3.input_shapes, x3, y3), (at4.input_shapes, x4, y4)))
    assert passing.verdict == "pass"
    wrong_at_4 = [y + np.float32(0.5) for y in y4]
    leg = replay(dense, more=((at3.input_shapes, x3, y3), (at4.input_shapes, x4, wrong_at_4)))
    assert leg.verdict == "fail"
    assert leg.metrics["at_shapes"] == [[4, 7]]
    assert leg.message.startswith("at input shapes (4, 7) (passed at (2, 7))")
    crash = replay(dense, more=((((3, 8),), [np.zeros((3, 8), np.float32)], y3),))
    assert crash.verdict == "error"
    assert crash.metrics["at_shapes"] == [[3, 8]]
    assert "(3, 8)" in crash.message


def test_the_yardstick_catches_a_converter_that_perturbs_weights():
    converters.register(Fake("tf2onnx-perturbed", "tf2onnx", after=perturbed_weights))
    try:
        conv = LayerSpec("Conv2D", {"filters": 4, "kernel_size": [3, 3], "padding": "same"},
                         ((1, 6, 6, 3),), seed=5)
        result = Harness("keras>tf2onnx-perturbed", known_issues=[], diagnose=False).run(conv)
    finally:
        converters.unregister("tf2onnx-perturbed")
    (leg,) = result.legs
    assert leg.verdict == "fail"
    assert leg.metrics["judged_by"] == "tolerance"
    assert leg.metrics["yardstick"]["ratio"] > 100 * yardstick.K


def test_one_float64_model_reads_every_size_as_a_model_built_at_that_size(monkeypatch):
    from harness.core.axes import FREE
    from harness.core.strategies import sample
    from harness.sources.keras import yardstick as keras_yardstick

    spec = next(s for s in sample("Conv1D", 12, axis=FREE) if s.more_shapes)
    builds = []
    real_build = keras_yardstick.build_model
    monkeypatch.setattr(keras_yardstick, "build_model",
                        lambda wide: builds.append(wide.input_shapes) or real_build(wide))
    reading = read(spec)
    assert len(builds) == 1 and reading.more  # one float64 model for the case's sizes
    model = reading.artifact.model
    for shapes, inputs, _expected, *rest in reading.more:
        at = spec.at_shapes(shapes)
        alone = keras_yardstick.keras_reading(at, model, inputs)  # its own float64 model
        assert rest and alone is not None
        for shared, own in zip(rest[0], alone):
            np.testing.assert_array_equal(shared, own)
    assert len(builds) == 1 + len(reading.more)
