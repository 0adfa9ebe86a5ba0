"""A pytest-xdist worker ends without the interpreter's teardown (harness.core.worker_exit):
its exit handlers still run, what it holds is not finalised, the run passes; and
$PARITY_WORKER_TEARDOWN=1, or a run in one process, ends as Python ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from harness.core import worker_exit

SUITE = textwrap.dedent('''
    import atexit
    import os

    MARKS = os.open(os.environ["MARKS"], os.O_WRONLY | os.O_APPEND)


    class HeldToTheEnd:
        def __del__(self, write=os.write, marks=MARKS):
            write(marks, b"finalised\\n")


    HELD = HeldToTheEnd()
    atexit.register(lambda: os.write(MARKS, b"exit handler\\n"))


    def test_runs():
        assert HELD is not None
''')


def _marks(tmp_path, *options: str, **environ: str) -> list[str]:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (tmp_path / "test_held.py").write_text(SUITE)
    marks = tmp_path / "marks.txt"
    marks.write_text("")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-p", "no:cacheprovider",
         "--parity-report", "none", "--parity-cache", "none", *options],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "MARKS": str(marks), **environ})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "Not properly terminated" not in run.stdout + run.stderr
    return marks.read_text().split("\n")[:-1]


def test_a_worker_runs_its_exit_handlers_and_skips_the_teardown(tmp_path):
    assert _marks(tmp_path, "-n", "1") == ["exit handler"]


@pytest.mark.parametrize("options, environ", [
    (["-n", "1"], {worker_exit.ENVIRONMENT: "1"}),
    (["-p", "no:xdist"], {}),
], ids=["teardown asked for", "one process"])
def test_otherwise_the_process_ends_as_python_ends_it(tmp_path, options, environ):
    assert _marks(tmp_path, *options, **environ) == ["exit handler", "finalised"]


def test_only_a_worker_ends_at_once():
    worker = SimpleNamespace(workerinput={"workerid": "gw0"})
    assert worker_exit.ends_at_once(worker, {})
    assert not worker_exit.ends_at_once(worker, {worker_exit.ENVIRONMENT: "1"})
    assert not worker_exit.ends_at_once(SimpleNamespace(), {})
