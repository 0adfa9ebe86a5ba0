"""The dtype axis: a Keras case built in float16, float64 or under the mixed_float16 policy
computes in that dtype, leaves Keras' global policy as it found it, and is judged by a
calibrated default tolerance (docs/dtypes.md)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core import axes, registry
from harness.core.dtypes import MIXED, admitted, array_dtype
from harness.core.inputs import input_dtypes, make_inputs
from harness.core.spec import LayerSpec
from harness.core.tolerance import BUILTIN_DEFAULTS, TolerancePolicy
from harness.sources.keras.axes import KERAS_DTYPES, KERAS_REFUSED

DENSE = {"units": 3, "activation": "linear", "use_bias": True}


def _dense(dtype: str) -> LayerSpec:
    return LayerSpec("Dense", DENSE, ((2, 4),), dtype=dtype, seed=5)


def test_every_dtype_has_a_default_tolerance_tighter_than_a_rounding_step():
    policy = TolerancePolicy()
    for dtype in (*KERAS_DTYPES, "bfloat16"):
        tolerance = policy.for_case("Dense", "keras>tf2onnx", "cpu", dtype)
        assert 0 < tolerance.rtol < 0.05 and 0 < tolerance.atol < 0.05
    # float16 is judged looser than float32; a Keras float64 case far tighter (a leg that
    # computes in float32 must fail), by a built-in rule that other sources do not meet.
    assert BUILTIN_DEFAULTS["float16"][1] > BUILTIN_DEFAULTS["float32"][1]
    keras16 = policy.for_case("Dense", "keras>tf2onnx", "cpu", "float16")
    assert BUILTIN_DEFAULTS[MIXED] == (keras16.atol, keras16.rtol)
    keras64 = policy.for_case("Dense", "keras>tf2onnx", "cpu", "float64")
    assert keras64.rtol <= 1e-11 and "dtype=float64" in keras64.rule
    float32_rounding = abs(float(np.float32(0.1)) - 0.1)
    assert float32_rounding > keras64.atol + keras64.rtol * 0.1
    # An ONNX case's converter legs have their own calibrated rule (docs/dtypes.md), tight
    # enough to fail a leg that computes in float32; its own reading keeps torch's default.
    onnx64 = policy.for_case("Add", "onnx>onnx2torch", "cpu", "float64", source="onnx")
    assert "source=onnx" in onnx64.rule and "dtype=float64" in onnx64.rule
    assert float32_rounding > onnx64.atol + onnx64.rtol * 0.1
    assert policy.for_case("Add", "onnx", "cpu", "float64", source="onnx").rule == \
        "default float64"


def test_inputs_follow_the_dtype_and_mixed_inputs_are_float32():
    assert [x.dtype for x in make_inputs(_dense("float16"))] == [np.float16]
    assert [x.dtype for x in make_inputs(_dense("float64"))] == [np.float64]
    assert [x.dtype for x in make_inputs(_dense(MIXED))] == [np.float32]
    assert array_dtype(MIXED) == "float32" and array_dtype("float64") == "float64"
    # The same draw in every dtype: float16 rounds the float64 values.
    wide, narrow = make_inputs(_dense("float64"))[0], make_inputs(_dense("float16"))[0]
    np.testing.assert_array_equal(wide.astype(np.float16), narrow)


def test_integer_inputs_stay_int32_in_every_dtype():
    spec = LayerSpec("Embedding", {"input_dim": 5, "output_dim": 2, "int_inputs": [5]},
                     ((1, 3),), dtype="float16")
    assert input_dtypes(spec) == ["int32"]
    assert make_inputs(spec)[0].dtype == np.int32


def test_admission_is_per_kind_and_measured():
    import harness.sources.keras.kinds  # noqa: F401  (registers the Keras kinds)

    assert admitted(registry.get("Dense")) == KERAS_DTYPES
    assert "float64" not in admitted(registry.get("MaxPooling3D"))
    assert set(KERAS_REFUSED) <= set(registry.names())
    assert admitted(registry.get("ResNet50")) == ()  # whole architectures are not drawn
    assert "bfloat16" not in axes.admitted(registry.get("Dense")).names


@pytest.mark.parametrize("dtype", [*KERAS_DTYPES])
def test_a_layer_is_built_and_computes_in_its_dtype(dtype):
    pytest.importorskip("tensorflow")
    import keras

    from harness.runtimes.keras import run_keras
    from harness.sources.keras.model import build_model

    before = keras.config.dtype_policy().name
    spec = _dense(dtype)
    model = build_model(spec)
    assert keras.config.dtype_policy().name == before, "the build leaks its policy"
    (layer,) = [layer for layer in model.layers if layer.weights]
    assert layer.dtype_policy.name == dtype
    assert {w.dtype for w in model.weights} == {array_dtype(dtype)}
    (output,) = run_keras(model, make_inputs(spec))
    assert output.dtype == ("float16" if dtype == MIXED else dtype)
    # Computed in that dtype: the float64 reading differs from the float16 one by float16
    # rounding, and equals a float64 NumPy reading of the same weights.
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.get_weights())
    x = make_inputs(spec)[0].astype(np.float64)
    expected = x @ kernel + bias
    tol = 1e-12 if dtype == "float64" else 2e-2
    np.testing.assert_allclose(output.astype(np.float64), expected, rtol=tol, atol=tol)


def test_a_model_kind_builds_every_node_in_its_dtype():
    pytest.importorskip("tensorflow")
    from harness.runtimes.keras import run_keras
    from harness.sources.keras.model import build_model

    attrs = {"layers": [{"kind": "Dense", "attrs": DENSE},
                        {"kind": "ReLU", "attrs": {"max_value": None, "negative_slope": 0.0,
                                                   "threshold": 0.0}}]}
    spec = LayerSpec("Sequential", attrs, ((1, 4),), dtype=MIXED, seed=1)
    model = build_model(spec)
    assert {layer.dtype_policy.name for layer in model.layers} == {MIXED}
    assert run_keras(model, make_inputs(spec))[0].dtype == np.float16


def test_the_policy_is_restored_when_a_build_fails():
    pytest.importorskip("tensorflow")
    import keras

    from harness.sources.keras.model import build_model

    spec = LayerSpec("Dense", {**DENSE, "units": -1}, ((1, 2),), dtype="float16")
    with pytest.raises(ValueError):
        build_model(spec)
    assert keras.config.dtype_policy().name == "float32"


def test_a_kernel_tensorflow_lacks_in_a_dtype_is_read_compiled_with_xla():
    pytest.importorskip("tensorflow")
    from harness.runtimes.keras import run_keras
    from harness.sources.keras.model import build_model

    # TensorFlow has no eager float16 AvgPool3D on the CPU; XLA compiles it.
    spec = LayerSpec("AveragePooling3D", {"pool_size": [1, 1, 2], "strides": [1, 1, 2],
                                          "padding": "valid", "data_format": "channels_last"},
                     ((1, 1, 1, 2, 1),), dtype="float16", seed=0)
    x = make_inputs(spec)
    (output,) = run_keras(build_model(spec), x)
    assert output.dtype == np.float16
    np.testing.assert_allclose(output.reshape(-1), x[0].astype(np.float32).mean(), rtol=1e-3)


def test_onnx_admission_is_what_the_draws_give():
    """Each ONNX kind's family file declares the dtypes its draws give (``op_kind(...,
    dtypes=)``); every kind's draw, forced to each dtype, is tried here, and each declaration
    must say exactly which never give it."""
    from harness.tools.measure_dtypes import declared_onnx, measure_onnx

    assert measure_onnx() == declared_onnx()


def test_an_onnx_kind_is_drawn_along_each_dtype_it_admits():
    import harness.sources.onnx.kinds  # noqa: F401  (registers the ONNX kinds)
    from harness.core.strategies import sample

    assert admitted(registry.get("Add", "onnx")) == ("float16", "float64")
    assert admitted(registry.get("Conv", "onnx")) == ("float16",)
    assert admitted(registry.get("ConvBnRelu", "onnx")) == ()
    for dtype in ("float16", "float64"):
        specs = sample("MatMul", 4, source="onnx", axis=dtype)
        assert len(specs) == 4 and {spec.dtype for spec in specs} == {dtype}
        inputs = make_inputs(specs[0])
        assert {x.dtype for x in inputs} == {np.dtype(dtype)}
    # Without an axis the draw is the kind's own: mostly float32, as before axes.
    assert {spec.dtype for spec in sample("MatMul", 6, source="onnx")} >= {"float32"}
    with pytest.raises(ValueError, match="onnx:Conv is not drawn along axis 'float64'"):
        sample("Conv", 1, source="onnx", axis="float64")


def test_a_forced_dtype_rejects_a_draw_that_cannot_take_it():
    """``Picker.dtype``: the axis' dtype where the candidates have it; else the draw is
    rejected (Hypothesis draws again), never silently another dtype."""
    from hypothesis import find
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable

    from harness.core.registry import Picker

    @st.composite
    def chosen(draw, among, forced):
        return Picker(draw, {}, dtype=forced).dtype(among)

    assert find(chosen(("float32", "float64"), "float64"), lambda d: True) == "float64"
    assert find(chosen(("float32", "float64"), None), lambda d: True) == "float32"
    with pytest.raises(Unsatisfiable):
        find(chosen(("float32",), "float16"), lambda d: True)
