"""`python -m harness.report.budget`: what it says when it cannot check a report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.report.budget import EXIT_CANNOT, main


def test_a_missing_report_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "parity.html"
    assert main([str(missing)]) == EXIT_CANNOT
    err = capsys.readouterr().err.strip()
    assert err == f"parity report budget: cannot check: {missing}: no such file"


def test_importing_it_needs_no_browser() -> None:
    code = ("import sys, harness.report.budget; "
            "assert 'playwright' not in sys.modules, 'playwright imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
