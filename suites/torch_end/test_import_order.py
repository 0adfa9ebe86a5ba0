"""The known issues that hold only in an import order parity's own processes do not take.

parity imports onnx2torch before torchvision, as onnx2torch's README does
(``harness.core.frameworks.prepare_imports``), so a converter bug that needs the other order
never shows in its runs. Such an entry is pinned by its own script instead, run in a fresh
process that imports in the order the entry needs: a strict xfail while the script says
REPRODUCED.
"""

import subprocess
import sys

import pytest

from harness.core import known_issues, skeleton

from ..verdicts import (
    fail_while_it_reproduces,
    nightly_unless_contracted,
    skip_unless_it_holds_here,
)

pytest.importorskip("onnxruntime", reason="the scripts run their models with onnxruntime")
pytest.importorskip("onnx2torch")

PINNING_TEST = ("suites/torch_end/test_import_order.py::"
                "test_known_issue_in_its_own_import_order_still_reproduces")
ORDERED = [issue for issue in known_issues.load() if issue.pinned_by == PINNING_TEST]
VERDICTS = {0: "FIXED", 1: "REPRODUCED", 2: "DIFFERENT", 3: "CANNOT RUN"}


@pytest.mark.known_issue
@pytest.mark.parametrize("issue", [pytest.param(issue, marks=nightly_unless_contracted(issue.id),
                                                id=issue.id) for issue in ORDERED])
def test_known_issue_in_its_own_import_order_still_reproduces(issue, request, tmp_path):
    skip_unless_it_holds_here(issue, None)
    # only the script's REPRODUCED is the expected failure: any other ending fails the test
    request.applymarker(pytest.mark.xfail(strict=True, raises=pytest.fail.Exception,
                                          reason=f"{issue.reason} ({issue.url})"))
    part = (known_issues.MORE_FILES / issue.script).read_text(encoding="utf-8")
    script = tmp_path / "repro.py"
    script.write_text(skeleton.assemble(part, issue.id), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    said = (done.stdout.strip().splitlines() or ["(nothing)"])[-1]
    verdict = VERDICTS.get(done.returncode, f"exit {done.returncode}")
    if verdict == "REPRODUCED":
        fail_while_it_reproduces(issue, [said])
    assert verdict == "FIXED", (f"{issue.script} ended {verdict}: {said}\n"
                                f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


def test_every_such_entry_names_its_script():
    """An entry pinned here is pinned by its script alone: it has one, and no minimal spec
    that parity's own order would run (and find passing)."""
    assert ORDERED, f"no entry says pinned_by = {PINNING_TEST!r}"
    for issue in ORDERED:
        assert issue.script and not issue.minimals, issue.id
