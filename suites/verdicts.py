"""How the suites judge a case's legs: the verdicts a drawn case may end in, and a pinned
known issue shown to stand (a strict xfail that passes only while the issue reproduces)."""

from __future__ import annotations

import pytest

from harness.core.stages import missing

ACCEPTED = ("pass", "xfail", "skip")


def accepted(leg, keras2_stage: str) -> bool:
    """``leg`` ended as a drawn case may: passed, a known issue, skipped, or refused by tf_keras
    at ``keras2_stage`` because tf_keras lacks an attribute of the layer (such a case cannot
    exist as a Keras-2 file: no one's bug)."""
    unsupported = leg.stage == keras2_stage and "unsupported by tf-keras" in leg.message
    return leg.verdict in ACCEPTED or unsupported


def skip_unless_reachable(issue, paths, where: str) -> None:
    """Skips the test when no leg of ``paths`` (``where`` names them) meets ``issue``."""
    reachable = {leg for path in paths for leg in [path.source, *path.legs()]}
    if not any(issue.covers_leg(leg) for leg in reachable):
        pytest.skip(f"{issue.id}: no leg of {where} matches {issue.legs!r}")


def reproducing(issue, case) -> list[str]:
    """The legs of ``case`` on which ``issue`` reproduced (recorded as its xfail)."""
    return [leg.leg for leg in case.legs if leg.known_issue and leg.known_issue["id"] == issue.id
            and leg.verdict == "xfail"]


def everywhere(parity):
    """A harness that runs a case down every leg it could go: its source's default paths with
    every side path and every torch-end stage installed here, on the run's device."""
    from harness.run import side_paths, torch_end
    from harness.run.pipeline import Harness

    ends = torch_end.Extension(tuple(s for s in torch_end.STAGES if missing(s) is None))
    side = side_paths.installed(side_paths.SidePaths(side_paths.ALL + side_paths.ONNX2TF))
    return Harness([], device=parity.device, opset=parity.opset, policy=parity.policy,
                   diagnose=False, extension=side_paths.combine(ends, side))


def assert_still_reproduces(pin, run, request, parity=None) -> None:
    """``pin``'s case, run by ``run``, still meets its known issue on some leg: the test is
    made a strict xfail, so that it fails once the issue is fixed. Where it meets it on no leg
    this run selects (``--converter onnx2torch`` and an entry of onnx2pytorch's as well, or of
    a torch-end stage) but does on a leg of every path (``everywhere``), the pin is not this
    selection's: a skip that names those legs, not a pass that fails the run."""
    issue = pin.issue
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"{issue.reason} ({issue.url})"))
    broken = reproducing(issue, run(pin.spec))
    if not broken and parity is not None:
        elsewhere = reproducing(issue, everywhere(parity).run(pin.spec))
        if elsewhere:
            pytest.skip(f"{issue.id} reproduces on {', '.join(elsewhere)}, which this run's "
                        f"selection does not run")
    assert not broken, f"{issue.id} reproduces on {broken}: {issue.url}"
