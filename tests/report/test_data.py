"""The page's data block: every case once, compact, and decodable to what the records say."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from harness.report import load_results, render_html
from harness.report.data import LEG_FIELDS, METRIC_FIELDS, Interner, case_entry, compact_number

from .synthetic import make_records, write_jsonl


def data_of(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="parity-data">(.*?)</script>', page)
    assert blob is not None
    return json.loads(blob.group(1))


def decode_leg(row: list, data: dict) -> dict:
    """What the page's script does with a leg (assets.py, decodeLeg)."""
    leg = dict(zip(data["fields"]["leg"], row))
    leg.update(data["objects"][leg.pop("where")])
    if "metrics" in leg:
        leg["metrics"] = dict(zip(data["fields"]["metrics"], leg["metrics"]))
    return leg


def test_every_case_once_worst_first(tmp_path: Path, records: list[dict]) -> None:
    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))
    data = data_of(page)
    results = [r for r in records if r["record"] == "result"]
    ids = [c["id"] for c in data["case_list"]]
    assert sorted(ids) == sorted({r["case_id"] for r in results})
    order = ["fail", "error", "xpass", "xfail", "skip", "pass"]
    worst = [c["worst"] for c in data["case_list"]]
    assert worst == sorted(worst, key=order.index)
    assert data["fields"] == {"leg": list(LEG_FIELDS), "metrics": list(METRIC_FIELDS)}
    assert data["cases"] == len(ids) and data["results"] == len(results)


def test_failing_cases_are_in_the_page_and_only_summarised_in_the_data(
    tmp_path: Path, records: list[dict]
) -> None:
    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))
    data = data_of(page)
    static = [c for c in data["case_list"] if c.get("static")]
    assert static and all(c["worst"] in ("fail", "error", "xpass") for c in static)
    assert all("legs" not in c and "spec" not in c for c in static)
    for case in static:
        assert f'id="case-{case["id"]}"' in page
    listed = [c for c in data["case_list"] if not c.get("static")]
    assert all(f'id="case-{c["id"]}"' not in page for c in listed)


def test_a_leg_decodes_to_its_record(tmp_path: Path, records: list[dict]) -> None:
    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))
    data = data_of(page)
    strings = data["strings"]
    by_key = {(r["case_id"], r["leg"]): r for r in records if r["record"] == "result"}
    checked = 0
    for case in data["case_list"]:
        for row in case.get("legs", []):
            leg = decode_leg(row, data)
            record = by_key[case["id"], leg["leg"]]
            assert leg["verdict"] == record["verdict"] and leg["path"] == record["path"]
            assert leg["tolerance"] == record["tolerance"]
            if record["metrics"]:
                metrics = leg["metrics"]
                assert metrics["max_abs"] == float(f"{record['metrics']['max_abs']:.4g}")
                assert metrics["max_abs_index"] == record["metrics"]["max_abs_index"]
                assert strings[metrics["dtype"]] == "float32"
                counts, exact, lo, hi = metrics["histogram"]
                assert counts == record["metrics"]["histogram"]["counts"]
                assert (lo, hi) == (-12.0, 0.0) and exact == 0
            if record["failure"]:
                assert strings[leg["message"]] == record["failure"]["message"]
            checked += 1
        if case.get("spec") is not None:
            spec = next(r["spec"] for r in records if r.get("case_id") == case["id"])
            assert case["spec"] == spec  # exact: a spec must read as drawn
    assert checked > 60


def test_repeated_strings_are_written_once(tmp_path: Path) -> None:
    records = make_records(cases=60, seed=4)
    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))
    data = data_of(page)
    assert len(data["strings"]) == len(set(data["strings"]))
    objects = [json.dumps(o, sort_keys=True) for o in data["objects"]]
    assert len(objects) == len(set(objects))
    wheres = [o for o in data["objects"] if isinstance(o, dict) and "runner" in o]
    assert len(wheres) == 3  # one per leg: its path, stage, runner, device and tolerance
    assert page.count("pads of asymmetric SAME padding dropped") <= 1 + sum(
        1 for c in data["case_list"] if c.get("static"))


def test_numbers_test_ids_and_repro_are_compact() -> None:
    assert compact_number(1.234567e-7) == 1.235e-07
    assert compact_number(3) == 3 and compact_number("inf") == "inf"
    interner = Interner()
    record = make_records(cases=1, seed=1)[1]
    record["test"] = f"suites/golden/test_golden.py::test_golden_case[{record['case_id']}]"
    entry = case_entry(record["case_id"], [record], "pass", ["pass"], interner, static=False)
    assert interner.strings[entry["test"]] == "suites/golden/test_golden.py::test_golden_case[{id}]"
    assert "repro" not in entry  # parity repro <id>, as the script writes it
    record["repro"] = "parity repro --leg x " + record["case_id"]
    entry = case_entry(record["case_id"], [record], "pass", ["pass"], interner, static=False)
    assert entry["repro"] == record["repro"]


def test_non_finite_values_anywhere_keep_the_block_valid_json(tmp_path: Path) -> None:
    records = make_records(cases=3, seed=2)
    for r in records[1:]:
        r["metrics"] = dict(r["metrics"] or {}, max_abs=math.inf, max_rel=math.nan,
                            required_atol="inf")
        r["spec"]["attrs"]["epsilon"] = math.nan
        r["timing"] = {"run": math.inf, "convert": 0.5}
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # NaN, Infinity
    page = render_html(load_results([path]))
    data = data_of(page)
    legs = [decode_leg(row, data) for c in data["case_list"] for row in c.get("legs", [])]
    assert legs and all(leg["metrics"]["max_abs"] == "inf" for leg in legs)
    assert all(leg["seconds"] == 0.5 for leg in legs)
