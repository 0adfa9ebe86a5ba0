"""benchmarks/bench_draws.py: what drawing the ci corpus costs, and whether two trees draw the
same corpus. Run end to end on the first kinds of the ONNX source, in new processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_draws.py"


def bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / f"draws-{len(list(tmp_path.iterdir()))}.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--sources", "onnx", *args,
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_a_corpus_is_drawn_the_same_every_round_and_timed_against_the_bare_engine(
    tmp_path: Path,
) -> None:
    figures, printed = bench(tmp_path, "--limit", "3", "--rounds", "2")
    ours, bare = figures["this tree"], figures["bare"]
    assert ours["digest"] != "differs between rounds" and len(ours["digest"]) == 16
    assert ours["tests"] == bare["tests"] >= 3
    assert ours["specs"] >= ours["tests"]  # every test draws at least one example
    assert ours["cpu_s"] > 0 and bare["cpu_s"] > 0
    assert abs(ours["ratio_to_bare"] - ours["cpu_s"] / bare["cpu_s"]) < 0.01
    assert "bare engine" in printed and ours["digest"] in printed


def test_a_different_corpus_has_another_digest_and_a_commit_is_drawn_beside(
    tmp_path: Path,
) -> None:
    fewer, _ = bench(tmp_path, "--limit", "2")
    figures, printed = bench(tmp_path, "--limit", "3", "--against", "HEAD")
    assert fewer["this tree"]["digest"] != figures["this tree"]["digest"]
    assert figures["HEAD"]["specs"] > 0 and isinstance(figures["same_corpus"], bool)
    assert "this tree / HEAD" in printed
