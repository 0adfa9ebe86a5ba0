"""benchmarks/bench_golden.py: the golden replay's cases per second, in one process on each
kind of stage cache and through pytest, run end to end on a few cases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_golden.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

pytest.importorskip("onnxruntime")


def bench(*args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, env=ENV, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("cache", ["none", "cold", "warm"])
def test_in_one_process_it_prints_the_rate_on_each_cache(cache):
    out = bench("--limit", "6", "--warmup", "2", "--cache", cache)
    assert re.search(rf"4 cases \(\d+ records\) in .* s CPU, stage cache {cache}", out), out
    assert re.search(r"[\d.]+ cases/s per CPU second", out), out


def test_through_pytest_it_counts_the_cases_pytest_ran():
    out = bench("--pytest", "--workers", "0", "-k", "000ffaf0db1bd96f or 168813b6c4f3a891")
    line = next(line for line in out.splitlines() if line.strip().startswith("run 0"))
    cases = int(re.search(r"run 0 +(\d+) cases", line).group(1))
    assert cases == 2 and "per CPU second" in line, out
