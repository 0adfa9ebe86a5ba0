"""The known issues of the ONNX simplifiers and optimizers and of Keras → TFLite
(harness/run/side_paths.py, docs/rewriters.md), each pinned as a strict xfail with its minimal
spec on the side paths its legs name (``*`` read as the source itself: ``onnx>onnxoptimizer``,
``keras>tflite``): the drawn suites run these stages on a sample of their own cases
(``--parity-side-paths``), so the entries they reach are pinned here, whatever
``--parity-paths`` says.
"""

import pytest

from harness.core import known_issues
from harness.run import side_paths

from ..verdicts import (
    fail_while_it_reproduces,
    nightly_unless_contracted,
    skip_unless_it_holds_here,
)

pytest.importorskip("onnxruntime", reason="the onnx source reads its models with onnxruntime")

# The legs of the side paths' own stages (not keras>savedmodel, which suites/saved pins);
# onnx2tf's where it is installed (``parity install onnx2tf``), else its pins are skipped.
OWN_PATHS = side_paths.ALL + side_paths.ONNX2TF
LEGS = set(OWN_PATHS)
STAGES = {leg.rsplit(">", 1)[-1] for leg in LEGS}
# Where a source's paths start: ONNX's node tests start at onnx, as a user's ONNX file does.
STARTS = {"onnx-node": "onnx"}


def start(pin) -> str:
    return STARTS.get(pin.spec.source, pin.spec.source)

# The entries about these stages (a glob that ends in one: not "keras>*", pinned elsewhere).
PINNED = [pin for pin in known_issues.pins()
          if any(glob.rsplit(">", 1)[-1] in STAGES for glob in pin.issue.globs)
          and any(leg.startswith(start(pin) + ">") for leg in LEGS)]


def onnx2tf_only(pin) -> bool:
    return all(path in side_paths.ONNX2TF for path in own_paths(pin).split(","))


# An onnx2tf conversion costs about a second of CPU in its own process, and its entries are
# many: ci and dev pin the first minimal spec of each onnx2tf wrong-output entry the ci
# contract holds them to (the silent bugs 4d1e7d32's ci pinned), nightly (and `-m slow`) every
# minimal spec of every entry.
FIRST_OF_ENTRY = set({pin.issue.id: pin.id for pin in reversed(PINNED)}.values())


def marks(pin) -> tuple:
    if not onnx2tf_only(pin):
        return ()
    if pin.id in FIRST_OF_ENTRY and pin.issue.nature == "wrong-output":
        return nightly_unless_contracted(pin.issue.id)
    return (pytest.mark.slow,)


def own_paths(pin) -> str:
    return ",".join(path for path in OWN_PATHS if path.startswith(start(pin) + ">")
                    and pin.issue.covers_leg(path))


@pytest.mark.known_issue
@pytest.mark.parametrize("pin", [pytest.param(pin, marks=marks(pin), id=pin.id)
                                 for pin in PINNED])
def test_known_issue_of_a_side_path_still_reproduces(pin, parity, request):
    from harness.run.pipeline import Harness

    issue = pin.issue
    missing = [why for path in own_paths(pin).split(",") if (why := side_paths.unavailable(path))]
    if missing:
        pytest.skip("; ".join(missing))
    skip_unless_it_holds_here(issue, None)  # its harness runs on the CPU, whatever the run's device
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"{issue.reason} ({issue.url})"))
    harness = Harness(own_paths(pin), opset=parity.opset, policy=parity.policy, diagnose=False,
                      cache=parity.cache)
    case = parity.record(harness.run(pin.spec))
    broken = [leg for leg in case.legs if leg.known_issue and leg.known_issue["id"] == issue.id
              and leg.verdict == "xfail"]
    fail_while_it_reproduces(issue, [leg.leg for leg in broken])
