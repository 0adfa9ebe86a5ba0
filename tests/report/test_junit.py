from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from harness.report import load_results, write_junit

from .synthetic import make_records, write_jsonl


def junit_of(tmp_path: Path, records: list[dict]) -> ET.Element:
    results = load_results([write_jsonl(tmp_path / "r.jsonl", records)])
    write_junit(results, tmp_path / "out" / "junit.xml")
    assert not list((tmp_path / "out").glob(".*.tmp")), "temporary file left behind"
    return ET.parse(tmp_path / "out" / "junit.xml").getroot()


def test_one_suite_per_kind_and_one_case_per_result(tmp_path: Path, records: list[dict]) -> None:
    root = junit_of(tmp_path, records)
    results = [r for r in records if r["record"] == "result"]
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert sorted(s.get("name") for s in suites) == sorted(
        f"parity.{k}" for k in {r["kind"] for r in results}
    )
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(results) == int(root.get("tests"))
    expected_names = Counter(f"{r['case_id']} {r['leg']}" for r in results)
    assert Counter(c.get("name") for c in cases) == expected_names
    for suite in suites:
        for case in suite.findall("testcase"):
            assert case.get("classname") == suite.get("name")
            float(case.get("time"))


def test_counts_match_verdicts(tmp_path: Path, records: list[dict]) -> None:
    root = junit_of(tmp_path, records)
    verdicts = Counter(r["verdict"] for r in records if r["record"] == "result")
    assert verdicts["fail"] and verdicts["error"] and verdicts["xfail"]
    assert int(root.get("failures")) == verdicts["fail"] + verdicts["xpass"]
    assert int(root.get("errors")) == verdicts["error"]
    assert int(root.get("skipped")) == verdicts["xfail"] + verdicts["skip"]
    assert len(root.findall(".//failure")) == int(root.get("failures"))
    assert len(root.findall(".//error")) == int(root.get("errors"))
    assert len(root.findall(".//skipped")) == int(root.get("skipped"))
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)
        assert int(suite.get("skipped")) == sum(len(c.findall("skipped")) for c in cases)


def test_failure_carries_metrics_and_repro(tmp_path: Path, records: list[dict]) -> None:
    root = junit_of(tmp_path, records)
    failing = next(r for r in records if r.get("verdict") == "fail")
    name = f"{failing['case_id']} {failing['leg']}"
    case = next(c for c in root.iter("testcase") if c.get("name") == name)
    failure = case.find("failure")
    assert failure.get("type") == "numeric_mismatch"
    assert failure.get("message").startswith("numeric_mismatch at ")
    assert "max_abs" in failure.text and "required_atol" in failure.text
    assert f"parity repro {failing['case_id']}" in failure.text


def test_devices_disambiguate_names(tmp_path: Path) -> None:
    records = make_records(cases=2, seed=1)
    cuda = [dict(r, device="cuda") for r in records if r["record"] == "result"]
    root = junit_of(tmp_path, records + cuda)
    names = [c.get("name") for c in root.iter("testcase")]
    assert len(names) == len(set(names)) == 12
    assert any(n.endswith(" [cuda]") for n in names)


def test_control_characters_do_not_break_xml(tmp_path: Path) -> None:
    records = make_records(cases=1, seed=1)
    records[1].update(
        verdict="error",
        failure={"category": "runtime_error", "message": "\x1b[31mboom\x00\x07 ]]> <&>\ud800"},
    )
    root = junit_of(tmp_path, records)
    error = root.find(".//error")
    assert "boom" in error.get("message")
    assert "]]> <&>" in error.text


def test_empty_results_give_a_valid_document(tmp_path: Path) -> None:
    root = junit_of(tmp_path, [])
    assert root.tag == "testsuites" and root.get("tests") == "0"
