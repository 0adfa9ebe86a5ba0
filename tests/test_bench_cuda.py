"""benchmarks/bench_cuda.py: says so and measures nothing without a GPU; its loop, checked
with two CPU sides (the ratio of a side to itself)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_cuda.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cuda() -> bool:
    torch = pytest.importorskip("torch")
    return torch.cuda.is_available()


def test_without_a_gpu_it_says_so_and_measures_nothing():
    if _cuda():
        pytest.skip("this machine has a CUDA device")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("bench_cuda: no CUDA device "
                                  "(torch.cuda.is_available() is False): nothing measured")


def test_its_loop_measures_two_sides_of_the_same_cases(tmp_path):
    pytest.importorskip("onnx2torch")
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--sides", "cpu,cpu", "--family",
                           "core", "--rounds", "1", "--json", str(out)],
                          capture_output=True, text=True, env=ENV, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["sides"] == ["cpu", "cpu"] and figures["cases"] >= 1
    assert figures["cpu_ms_per_case"] > 0 and figures["cuda_ms_per_case"] > 0
    assert figures["verdicts"]["cpu"] == figures["verdicts"]["cuda"]  # same cases, same device
    assert "cuda / cpu" in done.stdout
