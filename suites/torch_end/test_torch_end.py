"""The known issues of the stages after a converted PyTorch module (torch.export,
torch.compile, torch.onnx.export; harness/run/torch_end.py, docs/torch-end.md), each pinned as a
strict xfail with its minimal spec on the legs it names (``*`` read as the way its source
reaches a converter: ``onnx``, ``keras>tf2onnx``, ``mat``):
the drawn suites run the stages on a sample of their own cases
(``--parity-torch-end``); the entries reached only by those legs are pinned here, whatever
``--parity-paths`` says.
"""

import pytest

from harness.converters import parse_paths
from harness.core import known_issues
from harness.run import torch_end

from ..verdicts import (
    fail_while_it_reproduces,
    nightly_unless_contracted,
    skip_unless_it_holds_here,
)

pytest.importorskip("onnxruntime", reason="the onnx source reads its models with onnxruntime")
pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")

# Where each source's paths reach a PyTorch module, in the legs the entries name ("*>...").
PREFIXES = {"onnx": "onnx", "keras": "keras>tf2onnx", "mat": "mat"}
BASE = ("onnx>onnx2torch", "onnx>onnx2pytorch", "keras>tf2onnx>onnx2torch",
        "keras>tf2onnx>onnx2pytorch", "mat>mat2torch")
PATHS = ",".join(f"{base}>{stage}" for base in BASE for stage in torch_end.STAGES)
LEGS = {path.name for path in parse_paths(PATHS)}

PINNED = [issue for issue in known_issues.load()
          if issue.minimal is not None and any(issue.covers_leg(leg) for leg in LEGS)]


def own_paths(issue) -> str:
    globs = (issue.legs,) if isinstance(issue.legs, str) else issue.legs
    prefix = PREFIXES[issue.minimal.source]
    return ",".join(sorted({glob.replace("*", prefix) for glob in globs} & LEGS))


# Each pin exports or compiles its module (a second or more of CPU): ci and dev run those the
# ci contract holds them to, nightly (and `-m slow`) every one; the drawn suites still run the
# stages on a sample of their own cases.
@pytest.mark.known_issue
@pytest.mark.parametrize("issue", [pytest.param(issue, marks=nightly_unless_contracted(issue.id),
                                                id=issue.id) for issue in PINNED])
def test_known_issue_after_the_torch_module_still_reproduces(issue, parity, request):
    from harness.run.pipeline import Harness

    skip_unless_it_holds_here(issue, None)  # its harness runs on the CPU, whatever the run's device
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"{issue.reason} ({issue.url})"))
    harness = Harness(own_paths(issue), opset=parity.opset, policy=parity.policy,
                      diagnose=False, cache=parity.cache)
    case = parity.record(harness.run(issue.minimal))
    broken = [leg for leg in case.legs if leg.known_issue and leg.known_issue["id"] == issue.id
              and leg.verdict == "xfail"]
    fail_while_it_reproduces(issue, [leg.leg for leg in broken])
