"""The saved formats and the keras-torch leg, on a fixed, derandomised set of layer kinds.

Every case goes from the live Keras model through the files users hold (``.keras``, a
Keras-2 ``.h5`` written by tf-keras, a TF SavedModel) down to ONNX and PyTorch, and through
Keras on its PyTorch backend; each leg is compared with Keras on TensorFlow. The paths are
this suite's own (a dedicated Harness), whatever ``--parity-paths`` says: a leg passes or
is a recognised known issue (harness/known_issues.toml).
"""


import pytest

from harness.core import known_issues
from harness.core.strategies import sample

from ..installed import require
from ..verdicts import accepted, assert_still_reproduces

require("tensorflow", "tf2onnx", "onnx2torch", reason="the saved formats are written by Keras")

PATHS = ",".join([
    "keras>keras-file>tf2onnx>onnx2torch",
    "keras>h5>tf2onnx",
    "keras>savedmodel>tf2onnx-savedmodel>onnx2torch",
    "keras>keras-torch",
])
KINDS = ["Dense", "Conv1D", "Conv2D", "DepthwiseConv2D", "BatchNormalization",
         "LayerNormalization", "MaxPooling2D", "AveragePooling1D", "LSTM", "Subtract"]
PER_KIND = 2


@pytest.fixture(scope="module")
def saved_harness(parity):
    from harness.run.pipeline import Harness

    return Harness(PATHS, opset=parity.opset, policy=parity.policy, cache=parity.cache)


CASES = [(kind, i) for kind in KINDS for i in range(PER_KIND)]


@pytest.mark.parametrize(("kind", "index"), CASES, ids=[f"{k}-{i}" for k, i in CASES])
def test_saved_formats(kind, index, saved_harness, parity):
    specs = sample(kind, PER_KIND)
    if index >= len(specs):
        pytest.skip(f"{kind} has fewer than {index + 1} distinct specs")
    case = saved_harness.run(specs[index])
    record = getattr(parity, "record", None)  # into the session's report, where it can
    if record is not None:
        record(case)
    unexpected = [leg for leg in case.legs if not accepted(leg, keras2_stage="h5")]
    assert not unexpected, case.failure_message()


def _reachable(issue) -> bool:
    from harness.converters import parse_paths

    legs = {leg for path in parse_paths(PATHS) for leg in path.legs()}
    return any(issue.covers_leg(leg) for leg in legs)


PINNED = [pin for pin in known_issues.pins(source="keras")
          if _reachable(pin.issue)
          and not pin.issue.covers_leg("keras>tf2onnx")
          and not pin.issue.covers_leg("keras>tf2onnx>onnx2torch")]


@pytest.mark.known_issue
@pytest.mark.parametrize("pin", PINNED, ids=[pin.id for pin in PINNED])
def test_known_issue_of_a_saved_format_still_reproduces(pin, saved_harness, request):
    """The known issues only these paths reach (the layer suite pins the others)."""
    assert_still_reproduces(pin, saved_harness.run, request)
