"""How the suites judge a case's legs: the verdicts a drawn case may end in, and a pinned
known issue shown to stand (a strict xfail that passes only while the issue reproduces)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

ACCEPTED = ("pass", "xfail", "skip")
# What landed main 4d1e7d32's ci exercised, which the ci profile must still (issue #46's
# contract, docs/coverage.md#the-ci-contract; tests/test_ci_contract.py checks it).
CONTRACT = Path(__file__).resolve().parents[1] / "tests" / "ci_contract" / "4d1e7d32.json"


@lru_cache(maxsize=1)
def contract_pins() -> frozenset[str] | None:
    """The known-issue entries the ci contract holds ci to pin; None where its record is not
    beside the suites (an installed copy), and then every pin is ci's."""
    try:
        return frozenset(json.loads(CONTRACT.read_text(encoding="utf-8"))["pins"])
    except (OSError, ValueError, KeyError):
        return None


def nightly_unless_contracted(issue_id: str) -> tuple:
    """``slow`` (nightly's, and ``-m slow``'s) for a pin whose stage converts in a process or a
    compiler of its own (onnx2tf, torch.export, torch.compile: a second or more each), unless
    the ci contract holds ci to its entry."""
    pins = contract_pins()
    return () if pins is None or issue_id in pins else (pytest.mark.slow,)


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


def onnx_paths(parity):
    """The paths an ONNX case (drawn, or one of onnx's node test cases) goes down in this run:
    those of --parity-paths that start from onnx, else the ONNX source's default paths."""
    from harness import sources
    from harness.converters import parse_paths

    named = [path for path in parity.paths if path.source == "onnx"]
    return named or parse_paths(",".join(sources.get("onnx").default_paths))


def still_reproduces_test(pins, paths, where: str):
    """A suite's test that each of ``pins`` still meets its known issue: a strict xfail per
    pin (``assert_still_reproduces``), skipped where no leg of ``paths(parity)`` (``where``
    names them) meets the issue. A suite binds it to a ``test_...`` name of its own."""
    @pytest.mark.known_issue
    @pytest.mark.parametrize("pin", pins, ids=[pin.id for pin in pins])
    def test(pin, parity, request):
        skip_unless_reachable(pin.issue, paths(parity), where)
        assert_still_reproduces(pin, parity.run, request, parity)

    return test


def skip_unless_it_holds_here(issue, device: str | None) -> None:
    """Skips a pin whose entry holds on other devices, or with other versions of the
    distributions installed here (its ``devices`` and ``versions`` keys): it expects
    nothing here. Likewise where its minimal specs do not reproduce (``pinned_on``)."""
    if issue.devices is not None and device is not None and device not in issue.devices:
        pytest.skip(f"{issue.id} holds on {', '.join(issue.devices)}, not on {device}")
    if not issue.pinned_here(device):
        pytest.skip(f"{issue.id}'s minimal specs reproduce on {', '.join(issue.pinned_on)}, "
                    f"not on {device} (the entry still recognises its failures there)")
    outside = issue.outside_versions()
    if outside is not None:
        wanted = ", ".join(f"{d} {s}" for d, s in sorted(issue.versions.items()))
        pytest.skip(f"{issue.id} holds with {wanted}; here {outside}")


def reproducing(issue, case) -> list[str]:
    """The legs of ``case`` on which ``issue`` reproduced (recorded as its xfail)."""
    return [leg.leg for leg in case.legs if leg.known_issue and leg.known_issue["id"] == issue.id
            and leg.verdict == "xfail"]


def _through_entry_stages(issue) -> list[str]:
    """The gate's paths (``--converter``) through each stage that ends a leg glob of
    ``issue``."""
    from harness.converters import PathError
    from harness.gate.paths import paths_through

    found = []
    for stage in dict.fromkeys(glob.rsplit(">", 1)[-1] for glob in issue.globs):
        try:
            found += paths_through(stage)
        except (PathError, KeyError, ValueError):  # a glob's last part that is no stage
            continue
    return found


def everywhere(issue, spec, parity):
    """A harness down every path the case could go that has a leg ``issue`` names: its
    source's default paths, the side paths and the torch-end stages after each, and the paths
    from its source through each stage that ends one of the entry's leg globs (a Keras case of
    an onnx2pytorch entry: ``keras>tf2onnx>onnx2pytorch``, as ``--converter onnx2pytorch``
    runs it), those whose stages are installed here; on the run's device, in a worker of its
    own where the run isolates (as every CUDA run does). None where no such path exists."""
    from harness.converters import ConversionPath, get
    from harness.run import side_paths, torch_end
    from harness.run.pipeline import Harness

    case = Harness([]).resolve(spec)
    defaults = [path.name for path in case.paths]
    candidates = [*defaults,
                  *(p for p in side_paths.ALL + side_paths.ONNX2TF if p.split(">")[0] == case.start),
                  *(f"{p}>{stage}" for p in defaults for stage in torch_end.STAGES
                    if get(p.rsplit(">", 1)[1]).target == "torch"),
                  *(p for p in _through_entry_stages(issue) if p.split(">")[0] == case.start)]
    candidates = list(dict.fromkeys(candidates))
    kept = [text for text in candidates
            if any(issue.covers_leg(leg) for leg in ConversionPath.parse(text).legs())
            and side_paths.unavailable(text) is None]
    if not kept:
        return None
    if parity.isolate:  # a CUDA run: its CUDA legs run in a worker, never in pytest's process
        from harness.run.isolation import IsolatedHarness

        return IsolatedHarness(",".join(kept), device=parity.device, opset=parity.opset,
                               pyproject=parity.policy_file, plugins=parity.plugins,
                               timeout=parity.timeout, precision=parity.precision,
                               cache=parity.cache.folder, cache_verify=parity.cache.verify)
    return Harness(",".join(kept), device=parity.device, opset=parity.opset,
                   policy=parity.policy, diagnose=False, cache=parity.cache)


def assert_still_reproduces(pin, run, request, parity=None) -> None:
    """``pin``'s case, run by ``run``, still meets its known issue on some leg: the test is
    made a strict xfail, so that it fails once the issue is fixed. Where it meets it on no leg
    this run selects (``--converter onnx2torch``, and an entry of onnx2pytorch's as well) but
    does on a leg of the paths the entry names (``everywhere``), the pin is not this
    selection's: a skip that names those legs, not a pass that fails the run."""
    issue = pin.issue
    skip_unless_it_holds_here(issue, request.getfixturevalue("parity").device)
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"{issue.reason} ({issue.url})"))
    broken = reproducing(issue, run(pin.spec))
    wider = None if broken or parity is None else everywhere(issue, pin.spec, parity)
    if wider is not None:
        try:
            elsewhere = reproducing(issue, wider.run(pin.spec))
        finally:
            getattr(wider, "close", lambda: None)()  # an isolating harness' worker
        if elsewhere:
            pytest.skip(f"{issue.id} reproduces on {', '.join(elsewhere)}, which this run's "
                        f"selection does not run")
    fail_while_it_reproduces(issue, broken)


def fail_while_it_reproduces(issue, broken) -> None:
    """A pin's failure while its issue reproduces on the legs ``broken`` names: the message
    alone, no traceback. The strict xfail expects this failure on every run, and pytest
    formatting a traceback for it cost 2-3 ms of a worker's CPU a pin, and more to carry the
    report to the controller; the message says all a traceback would."""
    if broken:
        pytest.fail(f"{issue.id} reproduces on {broken}: {issue.url}", pytrace=False)
