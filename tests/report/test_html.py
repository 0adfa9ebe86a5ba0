from __future__ import annotations

import argparse
import copy
import os
import re
import time
from pathlib import Path

import pytest

from harness.report import load_results, render_html, write_html
from harness.report.cli import add_commands

from .synthetic import domains, make_records, run_record, write_jsonl

SIZE_LIMIT = 10 * 1024 * 1024


def page_of(tmp_path: Path, records: list[dict], **kwargs) -> str:
    return render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]), **kwargs)


def test_sections_and_verdict(tmp_path: Path, records: list[dict]) -> None:
    page = page_of(tmp_path, records, domains=domains())
    for section in ("environment", "summary", "trend", "cases", "coverage"):
        assert f'<section id="{section}">' in page
    assert '<span class="overall FAIL" id="verdict">FAIL</span>' in page
    assert '<table class="matrix" id="matrix">' in page
    assert "AMD EPYC 7B13" in page and "onnxruntime <b>1.20.1</b>" in page
    assert "profile ci, seed 1234" in page
    assert "pytest suites/ -n 4 --hypothesis-profile ci" in page
    assert "never drawn" in page


def test_passing_run_says_pass(tmp_path: Path) -> None:
    records = [r for r in make_records(cases=10, seed=2) if r.get("verdict", "pass") == "pass"]
    assert '<span class="overall PASS"' in page_of(tmp_path, records)


def test_cases_are_collapsed_and_worst_first(tmp_path: Path, records: list[dict]) -> None:
    page = page_of(tmp_path, records)
    classes = re.findall(r'<details class="case w-(\w+)"', page)
    assert len(classes) == 40
    order = ["fail", "error", "xpass", "xfail", "skip", "pass"]
    assert classes == sorted(classes, key=order.index)
    assert "<details open" not in page and "open>" not in page


def test_every_failing_case_shows_what_is_needed(tmp_path: Path, records: list[dict]) -> None:
    page = page_of(tmp_path, records)
    failing = next(r for r in records if r.get("verdict") == "fail")
    anchor = f'id="case-{failing["case_id"]}"'
    block = page[page.index(anchor) : page.index("</details>", page.index(anchor))]
    assert f"parity repro {failing['case_id']}" in block
    assert 'class="copy"' in block
    assert "numeric_mismatch" in block and "<svg" in block
    assert "required atol" in block and "max abs" in block
    assert "&quot;attrs&quot;" in block


def test_multiple_environments_are_all_shown(tmp_path: Path) -> None:
    a = make_records(cases=3, seed=1, run_id="cpu-run")
    b = make_records(cases=3, seed=2, run_id="gpu-run")
    b[0] = run_record("gpu-run", gpu="NVIDIA H100 80GB HBM3", device="cuda")
    page = page_of(tmp_path, a + b)
    assert "2 distinct environments" in page
    assert "NVIDIA H100 80GB HBM3" in page


def test_problems_are_listed(tmp_path: Path, records: list[dict]) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", records)
    with path.open("a") as handle:
        handle.write("{not json\n")
    page = render_html(load_results([path]))
    assert f"{path}:{len(records) + 1}: not JSON" in page


def test_trend_section(tmp_path: Path, records: list[dict]) -> None:
    before = load_results([write_jsonl(tmp_path / "old.jsonl", records)])
    now = copy.deepcopy(records)
    flipped = next(r for r in now if r.get("verdict") == "pass")
    flipped["verdict"] = "fail"
    page = render_html(load_results([write_jsonl(tmp_path / "new.jsonl", now)]), previous=before)
    assert "Newly failing: 1" in page
    assert f'href="#case-{flipped["case_id"]}"' in page


def test_write_is_atomic_and_leaves_no_temporary(tmp_path: Path, records: list[dict]) -> None:
    results = load_results([write_jsonl(tmp_path / "r.jsonl", records)])
    out = tmp_path / "deep" / "parity.html"
    out.parent.mkdir()
    out.write_text("old report")
    assert write_html(results, out) == "FAIL"
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert os.listdir(out.parent) == ["parity.html"]
    assert out.stat().st_mode & 0o444 == 0o444


def test_failed_write_keeps_the_old_report(
    tmp_path: Path, records: list[dict], monkeypatch
) -> None:
    import harness.report.html as html_module

    results = load_results([write_jsonl(tmp_path / "r.jsonl", records)])
    out = tmp_path / "parity.html"
    out.write_text("old report")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(html_module, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_html(results, out)
    assert out.read_text() == "old report"


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="parity")
    add_commands(parser.add_subparsers(dest="command", required=True), domains=domains)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_report_with_junit_and_previous(tmp_path: Path, records: list[dict], capsys) -> None:
    half = len(records) // 2
    a = write_jsonl(tmp_path / "a.jsonl", records[:half])
    b = write_jsonl(tmp_path / "b.jsonl", [records[0]] + records[half:])
    out, junit = tmp_path / "r" / "parity.html", tmp_path / "r" / "junit.xml"
    code = cli(
        [
            "report",
            "--merge",
            str(a),
            str(b),
            "--previous",
            str(a),
            "--junit",
            str(junit),
            "-o",
            str(out),
        ]
    )
    assert code == 1  # the synthetic run has failures
    assert out.exists() and junit.exists()
    assert "FAIL" in capsys.readouterr().out
    assert cli(["report", "--merge", str(a), "--merge", str(b), "-o", str(out), "--exit-zero"]) == 0


def test_cli_exit_codes(tmp_path: Path, capsys) -> None:
    passing = [r for r in make_records(cases=5, seed=2) if r.get("verdict", "pass") == "pass"]
    good = write_jsonl(tmp_path / "good.jsonl", passing)
    out = tmp_path / "p.html"
    assert cli(["report", "--merge", str(good), "-o", str(out)]) == 0
    assert cli(["report", "--merge", str(tmp_path / "absent.jsonl"), "-o", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + "{truncated\n")
    assert cli(["report", "--merge", str(bad), "-o", str(out)]) == 1  # INCOMPLETE
    assert f"{bad}:" in capsys.readouterr().err
    assert cli(["report", "--merge", str(good), "--factor", "0.5", "-o", str(out)]) == 2


def test_thousand_case_report_is_small_and_quick_to_build(tmp_path: Path) -> None:
    records = make_records(cases=1000, seed=0)
    results = load_results([write_jsonl(tmp_path / "r.jsonl", records)])
    started = time.perf_counter()
    write_html(results, tmp_path / "parity.html", domains=domains())
    elapsed = time.perf_counter() - started
    size = (tmp_path / "parity.html").stat().st_size
    assert size < SIZE_LIMIT, f"{size / 1e6:.1f} MB"
    assert elapsed < 20, f"{elapsed:.1f} s"


def test_nonfinite_metrics_and_missing_fields_render(tmp_path: Path, records: list[dict]) -> None:
    now = copy.deepcopy(records)
    results = [r for r in now if r["record"] == "result"]
    results[0]["metrics"]["required_rtol"] = "inf"
    results[0]["metrics"]["max_rel"] = "nan"
    results[1].update(tolerance=None, timing=None, test=None, hypothesis=None, outputs=None)
    results[2]["metrics"]["histogram"] = {"edges": [], "counts": [], "exact": 5}
    results[3].pop("spec")
    before = copy.deepcopy(records)
    next(
        r
        for r in before
        if r.get("case_id") == results[0]["case_id"] and r["leg"] == results[0]["leg"]
    )["metrics"]["max_rel"] = "inf"
    old = load_results([write_jsonl(tmp_path / "old.jsonl", before)])
    page = page_of(tmp_path, now, previous=old)
    assert '<td class="bad">inf</td>' in page
    assert "exactly equal" in page


def test_command_line_is_the_parsed_one(tmp_path: Path, records: list[dict]) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", records)
    out = tmp_path / "p.html"
    cli(["report", "--merge", str(path), "-o", str(out), "--exit-zero"])
    assert f"parity report --merge {path} --exit-zero -o {out}" in out.read_text()


def test_report_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, harness.report, harness.report.cli;"
        "bad = {'numpy', 'torch', 'tensorflow', 'onnx', 'onnxruntime', 'keras'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_kinds_not_run_are_listed_once(tmp_path: Path, records: list[dict]) -> None:
    documented = domains() | {"Conv3D": {"padding": ["valid", "same"]}}
    page = page_of(tmp_path, records, domains=documented)
    assert "Documented kinds with no case in these results (1): Conv3D" in page
    assert "<b>Conv3D</b>" not in page


def test_golden_replays_show_their_provenance_and_drift() -> None:
    from harness.report import Results, render_html

    def record(case_id: str, drift: dict) -> dict:
        return {
            "record": "result", "case_id": case_id, "kind": "Dense", "leg": "keras>tf2onnx",
            "path": "keras>tf2onnx>onnx2torch", "stage": "tf2onnx", "verdict": "pass",
            "spec": {"kind": "Dense"}, "blame": None, "note": "<i>reproduced the graph</i>",
            "golden": {"provenance": {"versions": {"tensorflow": "2.20.0"}}, "drift": drift},
        }

    results = Results(runs=[], results=[record("a" * 16, {"tensorflow": ["2.20.0", "2.21.0"]}),
                                        record("b" * 16, {})])
    page = render_html(results)
    assert "2 stored cases replayed" in page
    assert "tensorflow 2.20.0 → 2.21.0: 1 cases" in page
    assert "golden, made with" in page and "tensorflow 2.20.0" in page
    assert "&lt;i&gt;reproduced the graph&lt;/i&gt;" in page and "<i>reproduced" not in page
