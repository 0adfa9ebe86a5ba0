from __future__ import annotations

import argparse
import copy
import os
import re
from pathlib import Path

import pytest

from harness.report import load_results, render_html, write_html
from harness.report.cli import add_commands
from harness.report.html import _cell
from harness.report.scorecard import source_of

from .conftest import cases_of, data_of
from .synthetic import CI_ISSUES, domains, make_records, run_record, write_jsonl

CI_SIZE_LIMIT = 2 * 1000 * 1000
"""The report of a ci run (about 12,000 results) stays under 2 MB."""


def page_of(tmp_path: Path, records: list[dict], **kwargs) -> str:
    return render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]), **kwargs)


def positions(page: str, *anchors: str) -> list[int]:
    return [page.index(f'id="{anchor}"') for anchor in anchors]


def test_sections_and_verdict(tmp_path: Path, records: list[dict]) -> None:
    page = page_of(tmp_path, records, domains=domains())
    for section in ("known-issues", "paths", "kinds", "environment", "trend", "cases",
                    "coverage"):
        assert f'<section id="{section}">' in page
    assert re.search(r'<span class="overall FAIL" id="verdict"[^>]*>FAIL</span>', page)
    assert '<table class="matrix">' in page
    # The long tables below the first screen are in the page as it is, for a page's script
    # to build once interactive; the matrix says how many rows it holds until then.
    for section, table in (("known-issues", '<table class="issues">'),
                           ("paths", '<table class="score wide">'),
                           ("kinds", '<table class="matrix">')):
        held = re.search(rf'<section id="{section}">.*?<noscript class="later">(.*?)</noscript>',
                         page, re.S)
        assert held is not None and table in held.group(1), section
    rows = int(re.search(r'<div id="matrix" data-rows="(\d+)">', page).group(1))
    assert rows == len({(source_of(r), r["kind"]) for r in records if r["record"] == "result"})
    # The first screen: the verdict, the failures, then the scorecard.
    assert positions(page, "verdict", "failures", "scorecards", "known-issues", "cases") == (
        sorted(positions(page, "verdict", "failures", "scorecards", "known-issues", "cases")))
    assert "AMD EPYC 7B13" in page and "onnxruntime <b>1.20.1</b>" in page
    assert "profile ci, seed 1234" in page
    assert "pytest suites/ -n 4 --hypothesis-profile ci" in page
    assert "never drawn" in page


def test_passing_run_says_pass(tmp_path: Path) -> None:
    records = [r for r in make_records(cases=10, seed=2) if r.get("verdict", "pass") == "pass"]
    assert '<span class="overall PASS"' in page_of(tmp_path, records)


def test_failing_cases_are_in_the_page_collapsed_and_worst_first(
    tmp_path: Path, records: list[dict]
) -> None:
    page = page_of(tmp_path, records)
    classes = re.findall(r'<details class="case w-(\w+)"', page)
    results = [r for r in records if r["record"] == "result"]
    failing = {r["case_id"] for r in results if r["verdict"] in ("fail", "error", "xpass")}
    assert len(classes) == len(failing) > 0
    order = ["fail", "error", "xpass"]
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


def environment_of(page: str) -> str:
    return page[page.index('<section id="environment">'):page.index("</section>",
                                                                   page.index('id="environment"'))]


def test_the_environment_is_shown_once_with_what_differs(tmp_path: Path) -> None:
    a = make_records(cases=3, seed=1, run_id="cpu-run")
    b = make_records(cases=3, seed=2, run_id="gpu-run")
    b[0] = run_record("gpu-run", gpu="NVIDIA H100 80GB HBM3", device="cuda")
    env = environment_of(page_of(tmp_path, a + b))
    assert env.count("AMD EPYC 7B13") == 1 and env.count("onnxruntime <b>1.20.1</b>") == 1
    assert "Differs between shards <small>2 fields</small>" in env
    assert "NVIDIA H100 80GB HBM3" in env and "main (gpu-run)" in env


@pytest.fixture
def ci_page(ci_report: Path) -> Path:
    return ci_report


def test_xdist_workers_differ_in_one_line(ci_page: Path) -> None:
    env = environment_of(ci_page.read_text())
    assert env.count("<code>environment.TF_CPP_MIN_LOG_LEVEL</code>") == 1
    assert "Differs between shards <small>1 field</small>" in env
    assert "2: gw0, gw1" in env and env.count("AMD EPYC 7B13") == 1


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
    changes = page[page.index('id="changes"'):page.index('id="scorecards"')]
    assert 'New failures <b class="n">1</b>' in changes and flipped["case_id"][:8] in changes
    assert 'Fixed <b class="n">0</b>' in changes


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


def test_a_ci_run_gives_a_report_under_2_mb(ci_page: Path) -> None:
    data = data_of(ci_page.read_text())
    assert 11_000 <= data["results"] <= 13_000 and data["cases"] > 4000
    size = ci_page.stat().st_size
    # Room for the next runs' third more cases: a fraction of the budget, not all of it.
    assert size < CI_SIZE_LIMIT / 2, f"{size / 1e6:.2f} MB"


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
    data = data_of(page)
    cases = cases_of(data)
    assert cases["a" * 16]["legs"][0][0] == cases["b" * 16]["legs"][0][0]  # one "where"
    golden = data["objects"][cases["a" * 16]["golden"]]
    assert golden == {"versions": {"tensorflow": "2.20.0"},
                      "drift": {"tensorflow": ["2.20.0", "2.21.0"]}}
    assert "<i>reproduced" not in page
    assert "<i>reproduced the graph</i>" in data["strings"]  # the note, as text, in the data


def section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start:page.index("</section>", start)]


def test_known_issues_panel(ci_page: Path, ci_run: list[dict]) -> None:
    page = ci_page.read_text()
    panel = section(page, "known-issues")
    results = [r for r in ci_run if r["record"] == "result"]
    for issue_id, url, stage, _, _ in CI_ISSUES:
        held = [r for r in results if (r.get("known_issue") or {}).get("id") == issue_id]
        if not held:
            continue
        row = panel[panel.index(f'id="issue-{issue_id}"'):]
        row = row[:row.index("</tr>")]
        assert f'<a href="{url}" rel="noopener noreferrer">{issue_id}</a>' in row
        assert f"<td>{stage}</td>" in row
        cases = len({r["case_id"] for r in held})
        assert f'<td class="num">{cases}</td>' in row
        assert f">{len(held)}<small> on " in row
    xfails = sum(1 for r in results if r["verdict"] == "xfail")
    assert f"stood for {xfails:,} results" in panel


def test_sources_side_by_side_each_with_its_default_path(ci_page: Path) -> None:
    page = ci_page.read_text()
    cards = section(page, "scorecards")
    heads = re.findall(r'<div class="card" id="scorecard-(\w+)"', cards)
    assert heads == ["keras", "mat", "onnx", "file"]
    keras = cards[cards.index('id="scorecard-keras"'):cards.index('id="scorecard-mat"')]
    assert re.findall(r"<th title=\"([^\"]*)\"", keras) == [
        "keras&gt;tf2onnx", "keras&gt;tf2onnx&gt;onnx2torch"]
    assert "<th>family</th>" in keras and "op group" in cards and "layer group" in cards
    every = section(page, "paths")
    keras_every = every[:every.index('data-source="mat"')]
    legs = re.findall(r"<th title=\"([^\"]*)\"", keras_every)
    assert legs[:2] == ["keras&gt;tf2onnx", "keras&gt;tf2onnx&gt;onnx2torch"]
    assert "keras&gt;h5" in legs[2:]


def test_records_without_a_source_are_keras(tmp_path: Path, records: list[dict]) -> None:
    assert not any("source" in r for r in records)
    cards = section(page_of(tmp_path, records), "scorecards")
    assert re.findall(r'<div class="card" id="scorecard-(\w+)"', cards) == ["keras"]
    assert "<h3>Keras</h3>" in cards


def test_the_first_screen_opens_on_what_changed(ci_page: Path) -> None:
    page = ci_page.read_text()
    first = page[page.index('id="first-screen"'):page.index('id="scorecards"')]
    assert first.index('id="changes-new"') < first.index('id="changes-fixed"') < (
        first.index('id="changes-stopped"')) < first.index("Still failing")
    assert 'New failures <b class="n">4</b>' in first and 'Fixed <b class="n">4</b>' in first
    assert "tf2onnx-softmax-axis" in section(first, "changes-stopped")
    assert "4 new and 4 fixed since the previous run" in page[:page.index('id="first-screen"')]
    issues = section(page, "known-issues")
    assert "tf2onnx-softmax-axis" in issues and "stopped in 3 of 3 legs" in issues


def test_cli_previous_old_new(tmp_path: Path, records: list[dict], capsys) -> None:
    old = write_jsonl(tmp_path / "old.jsonl", records)
    now = copy.deepcopy(records)
    next(r for r in now if r.get("verdict") == "pass")["verdict"] = "fail"
    next(r for r in now if r.get("verdict") == "error")["verdict"] = "pass"
    next(r for r in now if r.get("verdict") == "xfail")["verdict"] = "pass"
    new = write_jsonl(tmp_path / "new.jsonl", now)
    out = tmp_path / "parity.html"
    assert cli(["report", "--previous", str(old), str(new), "-o", str(out)]) == 1
    stdout = capsys.readouterr().out
    assert ("since the previous run: 1 new failure(s), 1 fixed, 1 known issue(s) stopped "
            "reproducing") in stdout
    page = out.read_text()
    assert 'New failures <b class="n">1</b>' in page and 'Fixed <b class="n">1</b>' in page
    assert f"parity report --previous {old} -o {out} {new}" in page
    assert data_of(page)["results"] == sum(1 for r in now if r["record"] == "result")


def test_failing_cases_in_html_stay_within_a_byte_budget(tmp_path: Path) -> None:
    from harness.report.html import STATIC_BYTES

    records = make_records(cases=400, seed=9)
    for r in records[1:]:
        if r["verdict"] == "pass" and r["leg"].endswith("onnx2pytorch"):
            r.update(verdict="error", failure={"category": "conversion_error",
                                               "message": "x" * 2000})
    page = page_of(tmp_path, records)
    cases = page[page.index('<section id="cases">'):page.index("</section>",
                                                              page.index('id="cases"'))]
    shown = cases.count('<details class="case')
    assert 10 < shown < 100
    assert STATIC_BYTES * 0.9 < len(cases) < STATIC_BYTES + 2_000
    listed = [c for c in cases_of(data_of(page)).values() if "legs" in c]
    assert any(c["worst"] == "error" for c in listed)  # the rest are in the data


def test_a_failing_case_in_html_cuts_xfail_messages_and_shows_the_yardstick(
    tmp_path: Path,
) -> None:
    from .synthetic import TRACEBACK

    records = make_records(cases=3, seed=2)
    case = [r for r in records[1:] if r["case_id"] == records[1]["case_id"]]
    head = "onnx2torch raised NotImplementedError: Converter is not implemented"
    case[0].update(verdict="fail", failure={"category": "numeric_mismatch",
                                            "message": "max_abs 1 exceeds atol 1e-05"})
    case[0]["metrics"]["yardstick"] = {"source_error": 1e-7, "leg_error": 4.2e-3,
                                       "ratio": 4321.5}
    case[1].update(verdict="xfail", failure={"category": "unsupported_op", "message": head
                                             + TRACEBACK.format(stage="onnx2torch", last=head)},
                   known_issue={"id": "k", "url": "", "reason": "r"})
    page = page_of(tmp_path, records)
    block = page[page.index(f'id="case-{case[0]["case_id"]}"'):]
    block = block[:block.index("</details>")]
    assert "yardstick: ×4322 the source's own float64 rounding error" in block
    assert "(leg error 0.0042, source's own error 1e-07)" in block
    assert f"<pre>{head}</pre>" in block and "Traceback" not in block
    assert "more characters: the full message is in results.jsonl" in block


def test_coverage_and_kind_tables_are_lean(tmp_path: Path, records: list[dict]) -> None:
    page = page_of(tmp_path, records, domains=domains())
    coverage = section(page, "coverage")
    assert '<div id="coverage-list"></div>' in coverage and "<noscript>" in coverage
    assert "12 kinds ran" in coverage and "documented value(s) never drawn" in coverage
    assert 'class="chip' not in coverage  # the script lists the values
    kinds = section(page, "kinds")
    assert '<td class="c-pass"><span class="n v-pass">' in kinds
    assert "data-sort" not in kinds and 'class="cell' not in kinds and "title=\"pass\"" not in kinds
    assert _cell(None) == "<td></td>"  # the stylesheet marks an empty cell
    issues = section(page, "known-issues")
    assert 'class="clamp">' in issues and 'class="clamp" title' not in issues
