"""benchmarks/bench_tf2onnx_batch.py: one tf2onnx call a case against one for a group."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from suites.installed import require

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_tf2onnx_batch.py"


def test_a_group_converted_in_one_call_is_timed_against_its_cases_one_by_one_and_profiled():
    require("tensorflow", "tf2onnx", reason="the benchmark converts Keras models with tf2onnx")
    done = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "Dense", "--per-kind", "2",
                           "--batch", "2", "--copies", "--profile"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    row = re.search(r"^Dense\s+2" + r"\s+([\d.]+)" * 5 + "$", done.stdout, re.M)
    assert row, done.stdout
    single, batched, copies, batched_ratio, copies_ratio = map(float, row.groups())
    assert single > 0 and batched > 0 and copies > 0
    # The seconds are printed to the millisecond, the ratios of the unrounded ones.
    for seconds, ratio in ((batched, batched_ratio), (copies, copies_ratio)):
        assert abs(ratio - seconds / single) <= 0.0005 * (1 + ratio) / single + 0.0005
    parts = dict(re.findall(r"^  (\S.*?)\s+([\d.]+) s\s+[\d.]+%$", done.stdout, re.M))
    assert float(parts["from_keras"]) > 0, done.stdout
    assert 0 < float(parts["ONNX optimizers (optimizer.optimize_graph)"]) < float(
        parts["from_keras"]), done.stdout
    assert re.search(r"^batched / single: cpu [\d.]+ .* groups of 2\) on \S", done.stdout, re.M)
    assert re.search(r"^copies / single: cpu [\d.]+ \([\d.]+ s / [\d.]+ s\) on \S", done.stdout,
                     re.M)


def test_a_kind_the_cover_lacks_is_an_error_that_names_it():
    done = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "NoSuchLayer"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "NoSuchLayer" in done.stdout + done.stderr
