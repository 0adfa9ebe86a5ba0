"""The collector's thresholds while cases run (harness.core.collector): parity's own unless
$PARITY_GC_THRESHOLDS says otherwise, a clear error for a value that is not three integers,
and a pytest run that says so as a usage error, not a traceback."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from harness.core import collector


@pytest.fixture
def restored():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_cases_run_under_parity_s_thresholds_unless_the_environment_names_others(restored):
    collector.tune_for_cases({})
    assert gc.get_threshold() == collector.CASE_THRESHOLDS
    collector.tune_for_cases({collector.ENVIRONMENT: "1000, 5, 7"})
    assert gc.get_threshold() == (1000, 5, 7)


def test_python_leaves_the_thresholds_as_they_are(restored):
    gc.set_threshold(700, 10, 10)
    collector.tune_for_cases({collector.ENVIRONMENT: "python"})
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("text", ["fast", "1,2", "1,2,3,4", "-1,10,10", "a,b,c"])
def test_a_value_that_is_not_three_integers_is_refused_naming_the_variable(text, restored):
    before = gc.get_threshold()
    with pytest.raises(ValueError, match=f"{collector.ENVIRONMENT}=.*three integers"):
        collector.tune_for_cases({collector.ENVIRONMENT: text})
    assert gc.get_threshold() == before


def test_a_pytest_run_with_a_bad_value_ends_in_a_usage_error(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider",
         "--parity-report", "none", "--parity-cache", "none"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, collector.ENVIRONMENT: "fast"})
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "PARITY_GC_THRESHOLDS='fast': expected three integers" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("workers", [["-n", "1"], []], ids=["worker", "one process"])
def test_a_pytest_process_runs_its_cases_under_the_thresholds_with_what_it_loaded_frozen(
        tmp_path, workers):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (tmp_path / "test_threshold.py").write_text(
        "import gc\n\ndef test_threshold():\n    assert gc.get_threshold() == (20000, 20, 20)\n"
        "    assert gc.get_freeze_count() > 1000\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider", *workers,
         "--parity-report", "none", "--parity-cache", "none"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={k: v for k, v in os.environ.items() if k != collector.ENVIRONMENT})
    assert run.returncode == 0, run.stdout + run.stderr


def test_python_s_own_collector_freezes_nothing(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (tmp_path / "test_frozen.py").write_text(
        "import gc\n\ndef test_frozen():\n    assert gc.get_freeze_count() == 0\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider",
         "--parity-report", "none", "--parity-cache", "none"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, collector.ENVIRONMENT: "python"})
    assert run.returncode == 0, run.stdout + run.stderr


def test_what_was_frozen_is_given_back_before_the_interpreter_finalises():
    """An extension that counts what outlives it at exit (triton's nanobind) finds nothing:
    frozen objects would never be freed, and it would print a leak report after every run."""
    pytest.importorskip("triton")
    run = subprocess.run(
        [sys.executable, "-c", "import triton\nfrom harness.core import collector\n"
                               "collector.freeze_what_is_loaded({})\n"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "leaked" not in run.stderr
