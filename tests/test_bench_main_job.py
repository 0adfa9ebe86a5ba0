"""benchmarks/bench_main_job.py: the main job cold and warm, and its record-for-record check.

The comparison is checked on records made up here (one changed field must count); the
benchmark itself runs end to end on one ONNX test, in one process per run, and must print
both runs, their ratio and no differing record.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_main_job.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_main_job", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(case_id: str, leg: str, verdict: str = "pass", **fields) -> dict:
    return {"record": "result", "case_id": case_id, "kind": "Add", "leg": leg,
            "stage": leg.split(">")[-1],
            "source": "onnx", "test": "t", "verdict": verdict, "failure": None,
            "known_issue": None, "metrics": {"max_abs": 0.5}, "timing": {"run": 0.1},
            "run_id": "cold", **fields}


RECORDS = [record("a", "onnx>onnx2torch"), record("a", "onnx>ort-optimized"),
           record("b", "onnx>onnx2torch", "xfail", failure={"category": "numeric_mismatch"},
                  known_issue={"id": "some-issue"}),
           record("a", "onnx>onnx2torch")]  # a second test recording the same case


def test_equal_records_compare_equal_whatever_their_run_and_timing():
    bench = load_benchmark()
    warm = [dict(r, run_id="warm", timing={"run": 0.0}) for r in reversed(RECORDS)]
    assert bench.compare(RECORDS, warm) == {"cold_records": 4, "warm_records": 4,
                                            "differing": 0, "examples": []}


@pytest.mark.parametrize("change", [
    lambda r: r.update(verdict="fail"),
    lambda r: r.update(failure={"category": "shape_mismatch"}),
    lambda r: r.update(metrics={"max_abs": 0.25}),
    lambda r: r.update(known_issue={"id": "another-issue"}),
])
def test_one_changed_verdict_field_is_one_differing_record(change):
    bench = load_benchmark()
    warm = copy.deepcopy(RECORDS)
    change(warm[2])
    compared = bench.compare(RECORDS, warm)
    assert compared["differing"] == 1
    assert [(e["case_id"], e["leg"]) for e in compared["examples"]] == [("b", "onnx>onnx2torch")]


def test_a_missing_or_duplicated_record_differs():
    bench = load_benchmark()
    assert bench.compare(RECORDS, RECORDS[:3])["differing"] == 1
    assert bench.compare(RECORDS, RECORDS + [RECORDS[1]])["differing"] == 1


def test_the_benchmark_runs_cold_and_warm_with_equal_records(tmp_path):
    pytest.importorskip("onnx2torch")
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if k != "PARITY_CACHE_VERSION_OVERRIDE"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--suites", "suites/onnx/test_ops.py::test_op[Add]",
         "--workers", "0", "--keep", str(tmp_path / "runs"), "--json", str(out), "--floor"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tensorflow in each run: ")
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("main job: ")):]
    assert lines[0].startswith("main job: pytest suites/onnx/test_ops.py::test_op[Add] -n 0")
    assert [line.split()[0] for line in lines[1:4]] == ["cold", "warm", "hits"]
    assert "PARITY_CACHE_VERSION_OVERRIDE=onnx2torch=9.9" in lines[2]
    assert "PARITY_CACHE_VERSION_OVERRIDE=onnx2torch=9.9" in lines[3]
    assert lines[4].startswith("  warm/cold: wall ")
    assert lines[5].startswith("  hits/cold: cpu ")
    figures = json.loads(out.read_text())
    assert figures["ratio_cpu_hits"] == round(figures["hits"]["cpu_s"] /
                                              figures["cold"]["cpu_s"], 3)
    assert figures["records_hits"]["differing"] == 0
    assert "differing 0" in done.stdout and "hits " in done.stdout
    for run in ("cold", "warm", "hits"):
        assert figures[run]["wall_s"] > 0 and figures[run]["pytest_s"] > 0
        assert figures[run]["outcome"].get("passed", 0) >= 1
        assert (tmp_path / "runs" / run / "results.jsonl").is_file()
    assert figures["ratio_pytest"] == round(figures["warm"]["pytest_s"] /
                                            figures["cold"]["pytest_s"], 3)
    compared = figures["records"]
    assert compared["cold_records"] == compared["warm_records"] > 0
    assert compared["differing"] == 0
    assert "differing 0" in done.stdout
    assert any((tmp_path / "runs" / "cache" / "v1" / "entries").glob("*/*.json"))


def test_record_keys_count_every_record_kind_by_case_and_leg(tmp_path):
    bench = load_benchmark()
    records = [*RECORDS, {"record": "run", "run_id": "cold"}]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    keys = bench.record_keys(tmp_path)
    assert keys[("result", "a", "onnx>onnx2torch")] == 2
    assert keys[("run", None, None)] == 1
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    (fewer / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[1:]))
    assert keys - bench.record_keys(fewer) == {("result", "a", "onnx>onnx2torch"): 1}


def test_kind_legs_are_what_a_run_went_down_whatever_its_case_ids(tmp_path):
    bench = load_benchmark()

    def run(name, records):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        return bench.kind_legs(bench.result_records(folder))

    ref = run("ref", [*RECORDS, {"record": "run", "run_id": "cold"}])
    assert ref == {("onnx", "Add", "onnx>onnx2torch"), ("onnx", "Add", "onnx>ort-optimized")}
    # other case ids, the same kinds and legs: nothing lost
    assert run("renamed", [dict(r, case_id=r["case_id"] + "2") for r in RECORDS]) == ref
    # a kind that no longer goes down a leg
    assert ref - run("fewer", [dict(r, kind="Sub") if r["leg"] == "onnx>ort-optimized" else r
                               for r in RECORDS]) == {("onnx", "Add", "onnx>ort-optimized")}


def test_the_benchmark_runs_against_a_commit_alternating_kept_to_avx2(tmp_path):
    pytest.importorskip("onnx2torch")
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout: --against needs a commit to run")
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--against", "HEAD", "--rounds", "1", "--suites",
         "suites/onnx/test_ops.py::test_op[Add]", "--workers", "0", "--json", str(out),
         "--keep", str(tmp_path / "runs"), "--isa", "avx2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("instruction set kept to avx2: TF_ENABLE_ONEDNN_OPTS='0' ")
    # what a process with the settings uses, whatever the machine has
    assert lines[1] == "  torch AVX2 numpy AVX-512 dispatch off"
    # TensorFlow as the runs see it: without oneDNN, as on a CPU without AVX-512
    figures = json.loads(out.read_text())
    if figures["tensorflow"] is None:
        assert lines[2] == "tensorflow in each run: not installed"
    else:
        assert figures["tensorflow"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
        assert figures["tensorflow"]["onednn"] is not True
        assert lines[2].startswith("tensorflow in each run: CPU ")
        assert lines[2].endswith("(TF_ENABLE_ONEDNN_OPTS=0)")
    assert lines[3].startswith("main job cold: this tree against HEAD, 1 round(s), on ")
    assert [line.split()[0] for line in lines[4:6]] == ["ref-0", "head-0"]
    assert figures["isa"] == {"kept_to": "avx2", "seen": lines[1].strip()}
    for side in ("ref-0", "head-0"):  # each run's own record of its environment
        run = json.loads((tmp_path / "runs" / side / "results.jsonl").open().readline())
        assert run["environment"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
    runs = figures["runs"]
    assert figures["ratio_cpu"] == round(runs["head"][0]["cpu_s"] / runs["ref"][0]["cpu_s"], 3)
    assert figures["records"]["ref"] == figures["records"]["head"] > 0
    assert figures["records"]["missing"] == 0
    assert figures["kind_legs"]["ref"] == figures["kind_legs"]["head"] > 0
    assert figures["kind_legs"]["lost"] == []
    assert "lost here 0 (by source, kind and leg)" in done.stdout
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                               text=True).stdout
    assert (tmp_path / "runs" / "ref-0" / "results.jsonl").is_file()
    assert str(tmp_path / "runs") not in worktrees  # the commit's tree is removed after
