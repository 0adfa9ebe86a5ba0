import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.core import compare as compare_module
from harness.core.compare import Tolerance, compare

TOL = Tolerance(atol=1e-5, rtol=1e-5)


def test_identical_arrays_pass_with_zero_error():
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 3, 4)
    result = compare(x, x.copy(), TOL)
    assert result.passed and result.category is None
    assert result.metrics["max_abs"] == 0.0
    assert result.metrics["max_ulp"] == 0.0
    assert result.metrics["mismatch_fraction"] == 0.0


@settings(max_examples=80, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(["float16", "float32", "float64"]),
       tolerance=st.sampled_from([TOL, Tolerance(0.0, 0.0), Tolerance(1e-3, 0.0),
                                  Tolerance(0.0, 1e-2)]))
def test_identical_tensors_get_the_metrics_the_full_comparison_computes(data, dtype,
                                                                         tolerance):
    """The shortcut for identical finite tensors (most legs) must be the full computation's
    result exactly, -0.0 against 0.0, empty and 0-d tensors included; NaN and Inf take the
    full path."""
    expected = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, min_side=0, max_side=4),
                                    elements={"allow_nan": True, "allow_infinity": True}))
    actual = np.where(data.draw(st.booleans()) & (expected == 0), -expected, expected)
    shortcut = compare(actual, expected.copy(), tolerance)
    original = compare_module._identical_and_finite
    compare_module._identical_and_finite = lambda *args: False
    try:
        full = compare(actual, expected.copy(), tolerance)
    finally:
        compare_module._identical_and_finite = original
    assert (shortcut.passed, shortcut.category, shortcut.message) == \
        (full.passed, full.category, full.message)
    assert json.dumps(shortcut.metrics) == json.dumps(full.metrics)


def test_shape_mismatch_is_reported_before_values():
    result = compare(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32), TOL)
    assert not result.passed
    assert result.category == "shape_mismatch"
    assert "(2, 3) != (3, 2)" in result.message


def test_dtype_mismatch():
    result = compare(np.zeros(3, np.float64), np.zeros(3, np.float32), TOL)
    assert result.category == "dtype_mismatch"
    assert "float64 != float32" in result.message


def test_nan_in_a_different_place_is_a_nonfinite_mismatch():
    expected = np.array([1.0, np.nan, 3.0], np.float32)
    actual = np.array([np.nan, 2.0, 3.0], np.float32)
    result = compare(actual, expected, TOL)
    assert result.category == "nonfinite_mismatch"
    assert result.metrics["nonfinite"]["mask_mismatch"] == 2
    assert "(0,)" in result.message


def test_matching_nan_and_inf_positions_pass():
    expected = np.array([np.inf, np.nan, -np.inf, 1.0], np.float32)
    result = compare(expected.copy(), expected, TOL)
    assert result.passed


def test_opposite_infinities_mismatch():
    result = compare(np.array([np.inf], np.float32), np.array([-np.inf], np.float32), TOL)
    assert result.category == "nonfinite_mismatch"


def test_metrics_locate_the_largest_errors():
    expected = np.ones((3, 4), np.float32)
    actual = expected.copy()
    actual[2, 1] += 0.5  # largest absolute error
    expected[0, 3] = 1e-3
    actual[0, 3] = 2e-3  # largest relative error (100 %)
    result = compare(actual, expected, TOL)
    assert result.category == "numeric_mismatch"
    m = result.metrics
    assert m["max_abs"] == pytest.approx(0.5)
    assert m["max_abs_index"] == [2, 1]
    assert m["max_rel"] == pytest.approx(1.0, rel=1e-4)
    assert m["max_rel_index"] == [0, 3]
    assert m["mismatched"] == 2
    assert m["mismatch_fraction"] == pytest.approx(2 / 12)
    assert "Mismatched elements: 2 / 12" in result.message
    assert "(2, 1)" in result.message


def test_required_tolerances_are_the_smallest_that_pass():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal(100).astype(np.float32)
    actual = (expected + rng.normal(0, 1e-3, 100)).astype(np.float32)
    result = compare(actual, expected, TOL)
    assert not result.passed
    atol_needed = result.metrics["required_atol"]
    rtol_needed = result.metrics["required_rtol"]
    assert compare(actual, expected, Tolerance(atol_needed * 1.0001, TOL.rtol)).passed
    assert not compare(actual, expected, Tolerance(atol_needed * 0.99, TOL.rtol)).passed
    assert compare(actual, expected, Tolerance(TOL.atol, rtol_needed * 1.0001)).passed
    assert not compare(actual, expected, Tolerance(TOL.atol, rtol_needed * 0.99)).passed


def test_ulp_distance_counts_representable_floats():
    expected = np.array([1.0, -1.0, 0.0], np.float32)
    actual = np.array(
        [np.nextafter(np.float32(1.0), np.float32(2.0)), -1.0, np.float32(-0.0)], np.float32
    )
    assert compare(actual, expected, TOL).metrics["max_ulp"] == 1.0
    three_up = expected.copy()
    for _ in range(3):
        three_up = np.nextafter(three_up, np.float32(10), dtype=np.float32)
    assert compare(three_up, expected, TOL).metrics["max_ulp"] == 3.0


def test_ulp_across_zero():
    tiny = np.float32(1e-45)  # the smallest subnormal
    result = compare(np.array([tiny], np.float32), np.array([-tiny], np.float32), TOL)
    assert result.metrics["max_ulp"] == 2.0


def test_histogram_counts_every_nonzero_error():
    expected = np.zeros(10, np.float32)
    actual = np.array([0, 0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10], np.float32)
    hist = compare(actual, expected, TOL).metrics["histogram"]
    assert sum(hist["counts"]) == 8
    assert hist["exact"] == 2
    assert len(hist["edges"]) == len(hist["counts"]) + 1


def test_empty_tensors_compare_equal():
    result = compare(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), TOL)
    assert result.passed and result.metrics["total"] == 0


def test_a_failure_among_several_outputs_names_its_output_counted_from_zero():
    from harness.core.compare import compare_outputs, worst_comparison

    values = np.array([3.0, 2.0, 1.0], np.float32)
    indices = np.array([0, 1, 2], np.int64)
    tolerance = Tolerance(1e-5, 1e-5)
    only_indices = worst_comparison(compare_outputs([values, indices[::-1].copy()],
                                                    [values, indices], tolerance))
    assert only_indices.message.startswith("output [1] of 2: Values differ")
    both = worst_comparison(compare_outputs([values[::-1].copy(), indices[::-1].copy()],
                                            [values, indices], tolerance))
    assert both.message.startswith("output [0] of 2: Tensor-likes are not close")
    alone = worst_comparison(compare_outputs([values[::-1].copy()], [values], tolerance))
    assert alone.message.startswith("Tensor-likes are not close")
