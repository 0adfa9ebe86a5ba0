"""What the random profiles found on the ONNX suite (issue #24): the calibrated float16
tolerance of the ONNX converter legs, the float64 evaluation that calibrates it, and the known
issues of harness/known_issues.d/onnx-seeds.toml (each entry's minimal spec runs as a strict
xfail in suites/onnx)."""

import sys

import numpy as np
import pytest

from harness.core import known_issues
from harness.core.tolerance import TolerancePolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEEDS_FILE = known_issues.MORE_FILES / "onnx-seeds.toml"
NATURES = {"wrong-output", "refusal", "limitation", "reference", "undefined", "framework"}


def test_onnx_float16_converter_legs_get_the_calibrated_room_and_the_source_reading_does_not():
    policy = TolerancePolicy()
    for leg in ("onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized"):
        tolerance = policy.for_case("GRU", leg, "cpu", "float16", source="onnx")
        assert (tolerance.atol, tolerance.rtol) == (5e-3, 4e-3), leg
        assert "docs/dtypes.md" in tolerance.rule
    # onnxruntime against the reference evaluator: torch's default, at which the evaluator's
    # float16 rounding shows (and is pinned) rather than passing
    source = policy.for_case("GRU", "onnx", "cpu", "float16", source="onnx")
    assert (source.atol, source.rtol) == (1e-3, 1e-3) and source.rule == "default float16"
    # float64: tighter than torch's 1e-7 for the converter legs, torch's for the source
    wide = policy.for_case("GRU", "onnx>onnx2torch", "cpu", "float64", source="onnx")
    assert (wide.atol, wide.rtol) == (1e-10, 1e-10)
    assert policy.for_case("GRU", "onnx", "cpu", "float64", source="onnx").rule == \
        "default float64"
    assert policy.for_case("GRU", "onnx>onnx2torch", "cpu", "float32", source="onnx").rule == \
        "default float32"


def _one_node(op: str, dtype: int, **attrs):
    from onnx import helper

    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", dtype, [2])],
                              [helper.make_tensor_value_info("y", dtype, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_the_exact_reading_computes_a_float16_model_in_float64_on_its_own_inputs():
    pytest.importorskip("onnx")
    from onnx import TensorProto

    from harness.sources.onnx import read_evaluator
    from harness.sources.onnx.calibrate import exact_reading, upcast

    model = _one_node("LogSoftmax", TensorProto.FLOAT16, axis=-1)
    x = np.array([8.0, -7.0], np.float16)
    wide = upcast(model)
    assert wide.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16  # a copy
    (exact,) = exact_reading(model, [x])
    assert exact.dtype == np.float64
    exp = np.exp(-15.0)  # log_softmax of [8, -7] in float64
    np.testing.assert_allclose(exact, [-np.log1p(exp), -15.0 - np.log1p(exp)], rtol=1e-9)
    # the evaluator's own float16 reading: the log of a subnormal, 3 ULP off (the pinned
    # onnx-reference-log-softmax-float16)
    (evaluated,) = read_evaluator(model, [x])
    assert abs(float(evaluated[1]) - -15.0) > 0.02


def test_the_calibration_reads_the_legs_the_source_and_the_exact_distance(monkeypatch):
    pytest.importorskip("onnxruntime")
    from harness.core.frameworks import prepare_imports
    from harness.tools.calibrate_onnx import calibrate

    prepare_imports()
    figures = calibrate(2, ("float16",), kinds=["Relu", "ReduceSum"])["float16"]
    assert figures["cases"] >= 2
    assert figures["legs"]["count"] >= figures["cases"]
    for what in ("onnxruntime-evaluator", "onnxruntime-exact", "evaluator-exact"):
        assert figures[what]["count"] == figures["cases"]
        assert figures[what]["needing atol > 0.01"] == 0  # no known issue among these


def test_every_entry_found_by_the_seeds_says_what_it_is_and_whose_bug():
    raw = tomllib.loads(SEEDS_FILE.read_text())["issue"]
    loaded = {issue.id: issue for issue in known_issues.load(SEEDS_FILE)}
    assert raw and len(loaded) == len(raw)
    for entry in raw:
        assert entry["nature"] in NATURES, entry["id"]
        assert entry["party"], entry["id"]
        issue = loaded[entry["id"]]
        assert issue.source == "onnx" and issue.minimal is not None, entry["id"]
        assert any(issue.matches_case(issue.minimal, leg)
                   for leg in ("onnx", "onnx>onnx2torch", "onnx>onnx2pytorch")), entry["id"]
