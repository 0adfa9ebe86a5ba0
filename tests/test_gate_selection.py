"""Every selection is a cell that passes on clean code: ``parity gate --converter X`` resolves
for every stage ``parity stages`` lists, and a known issue's pinned reproduction runs only where
the selection runs a leg it reproduces on; elsewhere it is skipped, naming those legs
(suites/verdicts.py). docs/gate.md's ``parity gate --converter onnx2torch`` met three strict
xfails that passed (XPASS) on clean code before."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.converters import ConversionPath, PathError, available
from harness.gate.paths import paths_through

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stage", available())
def test_every_listed_stage_has_a_gate_selection_or_says_why(stage):
    try:
        paths = paths_through(stage)
    except PathError as exc:
        assert stage in str(exc) and "--paths" in str(exc)
        return
    assert paths and all(stage in ConversionPath.parse(p).stages for p in paths)


def _pins(selection: str, test: str, *extra: str, path: str = "") -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), path]))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider", "-q", "-rsxX",
         "--hypothesis-profile", "ci", "--parity-report", "none", "--parity-paths", selection,
         *extra], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900)


PIN = "suites/onnx/test_ops.py::test_known_issue_still_reproduces[torch-pool-pad-over-half-kernel-LpPool]"


def test_a_pin_of_another_converter_s_leg_is_skipped_naming_it():
    """The entry names onnx2torch's and onnx2pytorch's legs; its LpPool spec reproduces on
    onnx2pytorch only (onnx2torch has no LpPool: another entry). Gating onnx2torch skips it;
    gating onnx2pytorch runs it as the strict xfail it is."""
    pytest.importorskip("onnx2pytorch")
    gated = _pins("keras>tf2onnx>onnx2torch,onnx>onnx2torch", PIN)
    assert gated.returncode == 0, gated.stdout[-3000:]
    assert "1 skipped" in gated.stdout
    assert "torch-pool-pad-over-half-kernel reproduces on onnx>onnx2pytorch" in gated.stdout
    own = _pins("onnx>onnx2pytorch", PIN)
    assert own.returncode == 0, own.stdout[-3000:]
    assert "1 xfailed" in own.stdout


WATCH = """
import sys


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"pytest's process imported onnx2pytorch: {'onnx2pytorch' in sys.modules}")
"""


def test_under_isolation_the_wider_legs_run_in_a_worker_of_their_own(tmp_path):
    """A CUDA run isolates every case, so that pytest's process never meets a lost CUDA
    context: the legs a pin is run down beyond the selection (onnx2pytorch's, here) run in a
    worker too, never in pytest's process."""
    pytest.importorskip("onnx2pytorch")
    (tmp_path / "watch_imports.py").write_text(WATCH)
    gated = _pins("keras>tf2onnx>onnx2torch,onnx>onnx2torch", PIN, "--parity-isolate",
                  "-p", "watch_imports", path=str(tmp_path))
    assert gated.returncode == 0, gated.stdout[-3000:]
    assert "torch-pool-pad-over-half-kernel reproduces on onnx>onnx2pytorch" in gated.stdout
    assert "pytest's process imported onnx2pytorch: False" in gated.stdout


# About 95 s of CPU (84 s user + 11 s system, 2-core AMD EPYC under load): the test command
# runs it, a red cell on clean code is what it is for (docs/gate.md#every-stages-gate-checked).
def test_every_stage_s_gate_selection_passes_a_sample_of_each_suite(tmp_path):
    """``parity gate --converter X`` on clean code, for every stage X with a gate selection:
    a sample of each suite whose cases its selection steers (tests/gate_cells.py: one example
    of a drawn test, golden cases, a pin that selection runs, and in onnx2torch's the three
    that used to XPASS), every stage's selection in one pytest process. Nothing fails, and a
    pin that does not reproduce on the selection is skipped naming the legs it reproduces on
    (docs/gate.md#every-stages-gate-checked)."""
    pytest.importorskip("onnx2torch")
    pytest.importorskip("tensorflow")
    out = tmp_path / "cells.json"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PARITY_GATE_CELLS_OUT": str(out)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *CELL_SUITES, "-p", "tests.gate_cells", "-p",
         "no:xdist", "-p", "no:cacheprovider", "-q", "-rfEsxX", "--hypothesis-profile", "smoke",
         "--parity-report", "none", "--parity-cache", str(tmp_path / "cache")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=3600)
    failed = [line[:300] for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert run.returncode == 0, "\n".join(failed) or run.stdout[-6000:] + run.stderr[-2000:]
    found = json.loads(out.read_text())
    gated = _gated_in_a_fresh_process(environment)
    for suite in ("layers", "onnx", "onnx_backend", "mat", "golden"):
        cells = found["cells"][suite]
        assert sorted(stage for stages in cells.values() for stage in stages) == sorted(gated)
        ran = {_cell(test["test"], cells) for test in found["tests"]
               if test["test"].startswith(f"suites/{suite}/") and test["outcome"] != "skipped"}
        # A golden case replays down its own source's paths: a cell whose paths from that
        # source are another's leaves the case to that cell, which must have replayed it.
        standing = {key.split("@", 1)[1]: other for key, other in found["stands_for"].items()
                    if suite == "golden"}
        assert set(standing.values()) <= ran, (suite, set(standing.values()) - ran)
        assert ran | set(standing) == set(cells), (suite, set(cells) - ran - set(standing))
    outcomes = {test["outcome"] for test in found["tests"]}
    assert outcomes <= {"passed", "skipped", "xfailed"}, outcomes
    elsewhere = [test for test in found["tests"] if "which this run's selection does not run"
                 in test["reason"]]
    assert any("torch-pool-pad-over-half-kernel reproduces on onnx>onnx2pytorch" in t["reason"]
               and "gate=onnx2torch-" in t["test"] for t in elsewhere), elsewhere
    pins = [test for test in found["tests"] if "known_issue" in test["test"]]
    for pin in pins:
        if pin["outcome"] == "skipped":
            assert re.search(r"reproduces on \S+|no leg of .* matches|holds on", pin["reason"]), pin


CELL_SUITES = ["suites/layers", "suites/onnx", "suites/onnx_backend", "suites/mat",
               "suites/golden"]


def _cell(test: str, cells) -> str:
    """The cell a test ran in: the longest cell id its parameters start with."""
    parameters = test.split("[", 1)[1]
    return max((cell for cell in cells if parameters.startswith(cell + "-")), key=len)


GATED = """
import json
from harness.converters import PathError, available
from harness.gate.paths import paths_through

found = []
for stage in available():
    try:
        paths_through(stage)
    except PathError:
        continue
    found.append(stage)
print(json.dumps(found))
"""


def _gated_in_a_fresh_process(environment: dict[str, str]) -> set[str]:
    """The stages with a gate selection, as the cells' own process lists them: this pytest
    process may hold stages other tests registered (mat2torch-check-fault, say)."""
    listed = subprocess.run([sys.executable, "-c", GATED], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=300, check=True)
    return set(json.loads(listed.stdout.splitlines()[-1]))
