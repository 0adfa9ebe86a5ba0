"""benchmarks/bench_restarts.py: both sides lose the context as many times as asked, and the
figures it writes are the ones it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("onnx2torch")


def test_it_times_deaths_with_and_without_a_spare(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_restarts.py"),
                           "--deaths", "1", "--rounds", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert (figures["deaths"], figures["spares"], figures["rounds"]) == (1, 1, 1)
    assert set(figures["rounds_s"]) == {"no spares", "1 spare(s)"}
    assert figures["with_over_without"] == pytest.approx(
        figures["rounds_s"]["1 spare(s)"][0] / figures["rounds_s"]["no spares"][0], abs=2e-3)
    assert f"{figures['s_per_death_without']:7.2f} s per death" in done.stdout
