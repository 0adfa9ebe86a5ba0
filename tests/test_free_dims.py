"""Free dimensions: declared shapes, admission, the draw, the source's reading at every size
and the golden store's further sizes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness import golden
from harness.core import free_dims, registry
from harness.core.free_dims import BATCH, SPATIAL, TIME
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.sources.keras.axes import SPATIAL_KINDS
from harness.tools.measure_free_dims import measure

pytest.importorskip("tensorflow", reason="free dimensions are built in Keras")

CONV = LayerSpec("Conv2D", {"filters": 2, "kernel_size": [3, 3], "strides": [2, 2],
                            "padding": "valid", "data_format": "channels_first"},
                 ((1, 3, 5, 6),), seed=3)
LSTM = LayerSpec("LSTM", {"units": 2, "unroll": False}, ((1, 4, 3),), seed=1)


def test_declared_shape_frees_batch_spatial_and_time_where_the_data_format_says():
    conv = free_dims.with_free(CONV, (SPATIAL,))
    assert free_dims.declared_shape(conv, 0) == (None, 3, None, None)
    last = replace(CONV, attrs={**CONV.attrs, "data_format": "channels_last"},
                   free_dims=(BATCH, SPATIAL))
    assert free_dims.declared_shape(last, 0) == (None, None, None, 6)
    assert free_dims.declared_shape(free_dims.with_free(LSTM, (TIME,)), 0) == (None, None, 3)
    assert free_dims.declared_shape(replace(LSTM, free_dims=(BATCH,)), 0) == (None, 4, 3)


def test_admission():
    assert free_dims.admitted(registry.get("Conv2D")) == (BATCH, SPATIAL)
    assert free_dims.admitted(registry.get("LSTM")) == (BATCH, TIME)
    assert free_dims.admitted(registry.get("Reshape")) == (BATCH,)
    assert free_dims.admitted(registry.get("Sequential")) == (BATCH,)
    application = next(k for k in registry.kinds() if k.tags & registry.WHOLE_MODELS)
    assert free_dims.admitted(application) == ()
    kinds = [k for k in registry.kinds() if not k.tags & registry.WHOLE_MODELS]
    assert sum(SPATIAL in free_dims.admitted(k) for k in kinds) == len(SPATIAL_KINDS)


def test_a_configuration_that_needs_the_axis_fixed_keeps_it():
    unrolled = {**LSTM.attrs, "unroll": True}
    assert free_dims.applicable(registry.get("LSTM"), unrolled, LSTM.input_shapes) == (BATCH,)
    prelu = registry.get("PReLU")
    assert free_dims.applicable(prelu, {"shared_axes": [1]}, [(1, 3, 3, 2)]) == (BATCH,)
    assert free_dims.applicable(prelu, {"shared_axes": [1, 2]}, [(1, 3, 3, 2)]) == (BATCH, SPATIAL)
    norm = registry.get("LayerNormalization")
    assert free_dims.applicable(norm, {"axis": -2}, [(1, 3, 3, 2)]) == (BATCH,)
    assert free_dims.applicable(registry.get("Dense"), {"units": 1}, [(1, 2)]) == (BATCH,)


def test_the_draw_frees_batch_and_runs_at_another_batch_and_larger_axes():
    drawn = sample("Conv2D", 12, axis="free-spatial")
    assert all(spec.free_dims[0] == BATCH for spec in drawn)
    assert any(SPATIAL in spec.free_dims for spec in drawn)
    for spec in drawn:
        (more,) = spec.more_shapes
        first = spec.input_shapes[0]
        assert more[0][0] != first[0] and 1 in (more[0][0], first[0]) or first[0] > 1
        axes = free_dims.free_axes(spec, SPATIAL)[0] if SPATIAL in spec.free_dims else ()
        for axis, (a, b) in enumerate(zip(first, more[0])):
            assert (b > a) if axis in axes else (axis == 0 or a == b)
    assert [s.to_json() for s in sample("Conv2D", 12, axis="free-spatial")] == \
        [s.to_json() for s in drawn]  # deterministic


def test_the_simplest_free_draw_is_batch_only():
    simplest = sample("LSTM", 1, axis="free")[0]
    assert simplest.free_dims == (BATCH,)


def read(spec):
    from harness.core.frameworks import prepare_imports
    from harness.core.tolerance import TolerancePolicy
    from harness.sources import get

    prepare_imports()
    return get("keras").read(spec, policy=TolerancePolicy())


def test_the_source_reads_every_size_from_one_model():
    from harness.core.inputs import make_inputs
    from harness.runtimes.keras import run_keras

    spec = free_dims.with_free(CONV, (SPATIAL,), growth=2)
    reading = read(spec)
    assert reading.native is not None  # channels_first: read through the twin at every size
    ((shapes, inputs, expected, *_),) = reading.more
    assert shapes == ((2, 3, 7, 8),) and inputs[0].shape == shapes[0]
    np.testing.assert_array_equal(inputs[0], make_inputs(spec.at_shapes(shapes))[0])
    assert expected[0].shape == (2, 2, 3, 3)
    # The same weights at both sizes: the first sample of the larger batch's top-left
    # window is the first size's input there, so its output is too.
    fixed = read(replace(spec.at_shapes(shapes), free_dims=()))
    np.testing.assert_allclose(expected[0], fixed.reference[0], rtol=1e-5, atol=1e-5)
    assert np.array_equal(run_keras(reading.artifact.model, inputs)[0].shape, (2, 2, 3, 3))


def test_a_free_dimension_keras_cannot_build_is_a_clear_source_error():
    from harness.sources import SourceError

    reshape = LayerSpec("Reshape", {"target_shape": [6]}, ((1, 2, 3),),
                        free_dims=(BATCH, SPATIAL), more_shapes=(((2, 3, 3),),))
    with pytest.raises(SourceError, match=r"(?s)batch\+spatial dimensions free.*|at input "
                                          r"shapes \(2, 3, 3\)"):
        read(reshape)


def test_every_leg_runs_at_the_further_size():
    from harness.run.pipeline import Harness

    spec = free_dims.with_free(LSTM, (TIME,))
    result = Harness("keras>tf2onnx").run(spec)
    assert [leg.verdict for leg in result.legs] == ["pass"]


def store_case(tmp_path, spec):
    reading = read(spec)
    entry = golden.write_case(tmp_path, reading, spec, {"note": "test"})
    golden.write_manifest(tmp_path, {spec.case_id: entry})
    return reading, entry


def test_a_golden_case_round_trips_its_further_sizes(tmp_path):
    from harness.run.pipeline import Harness

    spec = free_dims.with_free(LSTM, (TIME,))
    reading, entry = store_case(tmp_path, spec)
    assert "size_1/inputs.npz" in entry and "size_1/expected.npz" in entry
    case = golden.load_case(golden.read_manifest(tmp_path), spec.case_id)
    ((shapes, inputs, expected, *_),) = case.more
    assert shapes == spec.more_shapes[0]
    np.testing.assert_array_equal(inputs[0], reading.more[0][1][0])
    np.testing.assert_array_equal(expected[0], reading.more[0][2][0])
    harness = Harness("keras>tf2onnx>onnx2torch")
    legs = {leg.leg: leg for leg in case.replay(harness).legs}
    assert legs["keras>tf2onnx"].verdict == "pass"
    # The replay compares at the further size too: a wrong expected output there fails it.
    case.more = ((shapes, inputs, [expected[0] + 1.0]),)
    legs = {leg.leg: leg for leg in case.replay(harness).legs}
    assert legs["keras>tf2onnx"].verdict == "fail"
    assert legs["keras>tf2onnx"].metrics["at_shapes"] == [list(s) for s in shapes]


def test_a_truncated_further_size_names_the_case(tmp_path):
    spec = free_dims.with_free(LSTM, (TIME,))
    store_case(tmp_path, spec)
    path = tmp_path / golden.CASES / spec.case_id / "size_1" / "expected.npz"
    path.write_bytes(path.read_bytes()[:40])
    store = golden.read_manifest(tmp_path)
    with pytest.raises(golden.GoldenError, match=f"{spec.case_id}/size_1/expected.npz"):
        golden.load_case(store, spec.case_id, verify=False)
    path.unlink()
    with pytest.raises(golden.GoldenError, match=f"{spec.case_id}/size_1/expected.npz: missing"):
        golden.load_case(store, spec.case_id, verify=False)


def test_a_case_without_further_sizes_loads_as_before(tmp_path):
    spec = replace(LSTM, seed=2)
    store_case(tmp_path, spec)
    case = golden.load_case(golden.read_manifest(tmp_path), spec.case_id)
    assert case.more == () and not (case.folder / "size_1").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["Conv2D", "MaxPooling2D", "Cropping2D", "GRU",
                                  "TimeDistributed", "Softmax"])
def test_admission_matches_measurement(kind):
    for name in free_dims.admitted(registry.get(kind))[1:]:
        tried, failures = measure(kind, name, 3)
        assert tried and not failures, failures
    assert measure("Reshape", SPATIAL, 3)[1]  # measured: Reshape bakes its sizes
