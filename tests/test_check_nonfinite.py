"""NaN and Inf outputs called out (issue 48): in ``parity check``, a reading whose outputs hold
NaN or Inf is a strength line with the fraction; a leg that makes NaN where the reference has
none differs, and its row says so; where the reference is NaN throughout, the check proves
nothing and says so. In the suites, a drawn case whose source reading is not finite is never
a pass."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.check.render import text  # noqa: E402
from harness.check.strength import NONFINITE, WARNING, WEAK  # noqa: E402
from harness.converters import Artifact, register, unregister  # noqa: E402
from harness.core.compare import Tolerance, compare  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.run.pipeline import NONFINITE_REFERENCE, Harness  # noqa: E402
from harness.sources import SourceReading  # noqa: E402
from tests.fakes import onnx_rewrite  # noqa: E402
from tests.test_sources import ToySource, _relu_model, toy_source  # noqa: E402

NAN_BIAS_STAGE = "onnx-check-nan-bias"


def affine_file(path, bias) -> str:
    """y = x W + b over six outputs, W drawn; ``bias`` as given (NaN where the test wants)."""
    weight = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
         helper.make_node("Add", ["xw", "b"], ["y"], name="add")], "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
        [numpy_helper.from_array(weight, "W"),
         numpy_helper.from_array(np.asarray(bias, np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    onnx.save(model, str(path))
    return str(path)


def nan_bias(model) -> None:
    """The bias's first element made NaN: a conversion that makes one of six columns NaN where
    the model is finite."""
    for init in model.graph.initializer:
        if init.name == "b":
            value = numpy_helper.to_array(init).copy()
            value[0] = np.nan
            init.CopyFrom(numpy_helper.from_array(value, "b"))


@pytest.fixture(scope="module", autouse=True)
def stage():
    register(onnx_rewrite(NAN_BIAS_STAGE, nan_bias))
    yield
    unregister(NAN_BIAS_STAGE)


def check(model, paths):
    return run_check(CheckOptions(model=model, paths=paths, report=None))


def test_a_model_whose_every_output_is_nan_proves_nothing_and_says_so(tmp_path):
    model = affine_file(tmp_path / "nan.onnx", np.full(6, np.nan))
    outcome = check(model, "onnx>onnx2torch,onnx>ort-optimized")
    assert [row.verdict for row in outcome.rows] == ["agrees", "agrees"]
    (finding,) = [f for f in outcome.strength if f.kind == NONFINITE]
    assert finding.label == WEAK and finding.details["proves_nothing"]
    assert finding.line().startswith("weak: output 'y' is NaN in every value of the reference "
                                     "(30 of 30, 100%), and so in the 2 leg(s) that agree: "
                                     "their agreement proves nothing")
    assert outcome.proves_nothing and outcome.to_json()["proves_nothing"]
    shown = text(outcome)
    assert "on outputs that are NaN throughout in the reference: this check proves nothing" \
        in shown.splitlines()[-1]


def test_nan_in_part_of_the_reference_is_stated_with_its_fraction(tmp_path):
    model = affine_file(tmp_path / "part.onnx", [np.nan, 0, 0, np.inf, 0, 0])
    outcome = check(model, "onnx>onnx2torch")
    assert outcome.rows[0].verdict == "agrees" and not outcome.proves_nothing
    (finding,) = [f for f in outcome.strength if f.kind == NONFINITE]
    assert finding.label == WARNING
    assert finding.line().startswith("warning: output 'y' of the reference holds NaN in 5 of "
                                     "30 values (16.7%) and Inf in 5 of 30 values (16.7%)")
    assert "every leg agrees (" in text(outcome).splitlines()[-1]


def test_a_leg_that_makes_nan_where_the_reference_has_none_differs_named_as_such(tmp_path):
    model = affine_file(tmp_path / "finite.onnx", np.zeros(6))
    outcome = check(model, f"onnx>{NAN_BIAS_STAGE}")
    (row,) = outcome.rows
    assert outcome.exit_code == 1 and row.verdict == "differs"
    assert row.category == "nonfinite_mismatch"
    assert row.where.startswith("NaN/Inf where the reference has none (4 / 24 elements, "
                                "16.7%)")
    (finding,) = [f for f in outcome.strength if f.kind == NONFINITE]
    assert finding.legs == [f"onnx>{NAN_BIAS_STAGE}"]
    assert finding.line() == (f"warning: output 'y' of onnx>{NAN_BIAS_STAGE} holds NaN in 5 "
                              f"of 30 values (16.7%) where the reference has none: that leg's "
                              f"conversion breaks the model")


def test_the_comparator_says_which_side_holds_the_nan():
    rule = Tolerance(1e-5, 1e-5)
    finite, broken = np.zeros(4, np.float32), np.array([np.nan, 0, 0, 0], np.float32)
    made = compare(broken, finite, rule)
    assert made.category == "nonfinite_mismatch"
    assert made.message.startswith("NaN/Inf where the reference has none (1 / 4 elements, 25%)")
    lost = compare(finite, broken, rule)
    assert lost.message.startswith("finite values where the reference has NaN/Inf (1 / 4 ")
    assert compare(broken, broken, rule).passed  # the comparator itself stays faithful


class NanToy(ToySource):
    """The toy Relu source fed an input with NaN in it: its reading holds NaN (Relu keeps
    it), and onnx2torch reproduces it."""

    name = "nantoy"
    default_paths = ("nantoy>onnx2torch",)
    kinds_module = "tests.test_check_nonfinite"

    def read(self, spec, *, policy, device="cpu") -> SourceReading:
        x = np.random.default_rng(spec.seed).standard_normal(spec.input_shapes[0])
        x = x.astype(np.float32)
        x.flat[0] = np.nan if spec.attrs.get("nan") else x.flat[0]
        return SourceReading(Artifact("onnx", _relu_model(spec.input_shapes[0]), ["input_0"]),
                             [x], [np.maximum(x, 0)], None, None)


nantoy = toy_source(NanToy)


@pytest.mark.parametrize("nan", [True, False])
def test_a_drawn_case_whose_reading_is_not_finite_is_never_a_pass(nantoy, nan):
    case = Harness(known_issues=[]).run(
        LayerSpec("Relu", {"nan": nan}, ((2, 3),), seed=1, source="nantoy"))
    (leg,) = case.legs
    if not nan:
        assert leg.verdict == "pass"
        return
    assert (leg.verdict, leg.category) == ("skip", NONFINITE_REFERENCE)
    assert leg.message.startswith("the source's reading is not finite (output 0 holds NaN in "
                                  "1 of 6 values)")
    case.check()  # a skip: not a failure either
