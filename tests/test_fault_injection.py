"""Breaking a converter breaks the suite: a deliberately mis-converted model is reported as a
failure of the leg that carries the fault, with metrics that say where and by how much."""

import pytest

from harness import converters
from harness.run.pipeline import Harness, ParityFailure
from tests.fakes import Fake, dropped_conv_padding, raising, shifted_conv_pads
from tests.specs import conv2d

pytest.importorskip("tensorflow")
pytest.importorskip("onnx2torch")

SAME_CONV = conv2d((2, 6, 6, 2), seed=11, filters=3, kernel_size=[3, 3], padding="same")


@pytest.fixture
def faulty_converters():
    registered = [
        converters.register(Fake("tf2onnx-shifted-pads", "tf2onnx", after=shifted_conv_pads)),
        converters.register(Fake("onnx2torch-dropped-pad", "onnx2torch",
                                 after=dropped_conv_padding)),
    ]
    yield
    for converter in registered:
        converters.unregister(converter.name)


def assert_numeric_failure(leg, name: str, runner: str) -> None:
    """``leg`` is the leg ``name``, run by ``runner``, failed by a numeric mismatch that no
    tolerance would hide."""
    assert leg.leg == name
    assert leg.runner == runner
    assert leg.verdict == "fail"
    assert leg.category == "numeric_mismatch"
    assert leg.metrics["max_abs"] > 0.1


def test_the_unbroken_path_passes():
    case = Harness("keras>tf2onnx>onnx2torch").run(SAME_CONV)
    assert [leg.verdict for leg in case.legs] == ["pass", "pass"]


def test_fault_in_the_onnx_stage_fails_the_onnx_leg_and_everything_downstream(faulty_converters):
    case = Harness("keras>tf2onnx-shifted-pads>onnx2torch").run(SAME_CONV)
    onnx_leg, torch_leg = case.legs
    assert_numeric_failure(onnx_leg, "keras>tf2onnx-shifted-pads", "onnxruntime")
    metrics = onnx_leg.metrics
    assert metrics["mismatch_fraction"] > 0.5  # a shifted window moves every output value
    assert len(metrics["max_abs_index"]) == 4
    assert metrics["required_atol"] > onnx_leg.tolerance.atol
    assert torch_leg.verdict == "fail"
    with pytest.raises(ParityFailure) as info:
        case.check()
    message = str(info.value)
    assert "leg keras>tf2onnx-shifted-pads (stage tf2onnx-shifted-pads" in message
    assert "Greatest absolute difference" in message
    assert f"parity repro {SAME_CONV.case_id}" in message
    assert '"kind":"Conv2D"' in message


def test_fault_in_the_torch_stage_fails_only_the_torch_leg(faulty_converters):
    case = Harness("keras>tf2onnx>onnx2torch-dropped-pad").run(SAME_CONV)
    onnx_leg, torch_leg = case.legs
    assert onnx_leg.verdict == "pass"
    assert_numeric_failure(torch_leg, "keras>tf2onnx>onnx2torch-dropped-pad", "torch")
    assert torch_leg.stage == "onnx2torch-dropped-pad"


def test_a_converter_crash_is_an_error_of_its_leg_not_of_the_run():
    converters.register(Fake("crashes", "onnx2torch",
                             before=raising("converter exploded on node conv2d_7")))
    try:
        case = Harness("keras>tf2onnx>crashes").run(SAME_CONV)
    finally:
        converters.unregister("crashes")
    onnx_leg, crashed = case.legs
    assert onnx_leg.verdict == "pass"
    assert crashed.verdict == "error"
    assert crashed.category == "conversion_error"
    assert "converter exploded on node conv2d_7" in crashed.message


def test_unknown_converter_and_mismatched_formats_are_clear_errors():
    with pytest.raises(converters.PathError, match="unknown converter 'nope'"):
        converters.parse_paths("keras>nope")
    with pytest.raises(converters.PathError, match="takes 'onnx' artifacts but receives 'keras'"):
        converters.parse_paths("keras>onnx2torch")
