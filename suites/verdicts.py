"""How the suites judge a case's legs: the verdicts a drawn case may end in, and a pinned
known issue shown to stand (a strict xfail that passes only while the issue reproduces)."""

from __future__ import annotations

import pytest

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


def assert_still_reproduces(pin, run, request) -> None:
    """``pin``'s case, run by ``run``, still meets its known issue on some leg: the test is
    made a strict xfail, so that it fails once the issue is fixed."""
    issue = pin.issue
    device = request.getfixturevalue("parity").device
    if not issue.holds_on(device):
        pytest.skip(f"{issue.id} holds on {', '.join(issue.devices)}, not on {device}")
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"{issue.reason} ({issue.url})"))
    case = run(pin.spec)
    broken = [leg for leg in case.legs if leg.known_issue and leg.known_issue["id"] == issue.id
              and leg.verdict == "xfail"]
    assert not broken, f"{issue.id} reproduces on {[leg.leg for leg in broken]}: {issue.url}"
