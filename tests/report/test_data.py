"""The page's data block: every case once, compact, and decodable to what the records say."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from harness.report import load_results, render_html
from harness.report.data import (
    CASE_FIELDS,
    LEG_FIELDS,
    METRIC_FIELDS,
    SHORT_MESSAGE_LIMIT,
    Interner,
    Kinds,
    case_entry,
    compact_number,
    describe,
    pack,
    read_page_data,
    short_message,
    unpack,
)
from harness.report.load import VERDICTS

from .conftest import cases_of, data_of, decode_case, decode_leg
from .synthetic import TRACEBACK, make_records, write_jsonl, yardstick_records


def page_of(tmp_path: Path, records: list[dict]) -> str:
    return render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))


def test_every_case_once_worst_first(tmp_path: Path, records: list[dict]) -> None:
    data = data_of(page_of(tmp_path, records))
    results = [r for r in records if r["record"] == "result"]
    cases = [decode_case(row, data) for row in data["case_list"]]
    ids = [c["id"] for c in cases]
    assert sorted(ids) == sorted({r["case_id"] for r in results})
    worst = [c["worst"] for c in cases]
    assert worst == sorted(worst, key=VERDICTS.index)
    assert data["fields"] == {"case": list(CASE_FIELDS), "leg": list(LEG_FIELDS),
                              "metrics": list(METRIC_FIELDS)}
    assert data["verdicts"] == list(VERDICTS)
    assert data["cases"] == len(ids) and data["results"] == len(results)
    for case in cases:
        assert case["verdicts"] == sorted({r["verdict"] for r in results
                                           if r["case_id"] == case["id"]}, key=VERDICTS.index)


def test_failing_cases_are_in_the_page_and_only_summarised_in_the_data(
    tmp_path: Path, records: list[dict]
) -> None:
    page = page_of(tmp_path, records)
    cases = cases_of(data_of(page)).values()
    static = [c for c in cases if "legs" not in c]
    assert static and all(c["worst"] in ("fail", "error", "xpass") for c in static)
    assert all("spec" not in c and "test" not in c for c in static)
    for case in static:
        assert f'id="case-{case["id"]}"' in page
    listed = [c for c in cases if "legs" in c]
    assert all(f'id="case-{c["id"]}"' not in page for c in listed)


def test_a_leg_decodes_to_what_the_page_shows_of_its_record(tmp_path: Path) -> None:
    records = make_records(cases=200, seed=7)
    data = data_of(page_of(tmp_path, records))
    strings = data["strings"]
    by_key = {(r["case_id"], r["leg"]): r for r in records if r["record"] == "result"}
    checked = {"pass": 0, "other": 0}
    for case in cases_of(data).values():
        for row in case.get("legs", []):
            leg = decode_leg(row, data)
            record = by_key[case["id"], leg["leg"]]
            assert leg["verdict"] == record["verdict"] and leg["path"] == record["path"]
            assert leg["tolerance"] == record["tolerance"]
            if record["metrics"]:
                assert leg["max_abs"] == float(f"{record['metrics']['max_abs']:.4g}")
                assert leg["max_rel"] == float(f"{record['metrics']['max_rel']:.4g}")
            if record["verdict"] == "pass":  # max_abs and max_rel, nothing else
                assert set(leg) <= {"leg", "path", "stage", "runner", "device", "tolerance",
                                    "verdict", "max_abs", "max_rel"}
                checked["pass"] += 1
                continue
            checked["other"] += 1
            assert leg["seconds"] == float(f"{sum(record['timing'].values()):.3g}")
            if record["metrics"]:
                metrics = leg["metrics"]
                assert metrics["max_abs_index"] == record["metrics"]["max_abs_index"]
                assert strings[metrics["dtype"]] == "float32"
                counts, exact, lo, hi = metrics["histogram"]
                assert counts == record["metrics"]["histogram"]["counts"]
                assert (lo, hi) == (-12.0, 0.0) and exact == 0
            if record["failure"]:
                message = strings[leg["message"]]
                assert record["failure"]["message"].startswith(message)
                assert leg.get("cut", 0) == len(record["failure"]["message"].rstrip()) - len(
                    message)
    assert checked["pass"] > 300 and checked["other"] > 10


def test_a_passing_case_keeps_its_spec_in_one_line_a_failing_one_all_of_it(
    tmp_path: Path, records: list[dict]
) -> None:
    data = data_of(page_of(tmp_path, records))
    specs = {r["case_id"]: r["spec"] for r in records if r["record"] == "result"}
    kinds = set()
    for case in cases_of(data).values():
        if "legs" not in case:
            continue
        if case["worst"] == "pass":
            assert case["spec"] == describe(specs[case["id"]])
            assert case["spec"].startswith(specs[case["id"]]["kind"] + "(")
            assert "time" not in case
        else:
            assert case["spec"] == specs[case["id"]]  # exact: a spec must read as drawn
            assert case["time"] == "2025-01-01T00:01:00Z"
        kinds.add(case["worst"])
    assert {"pass", "xfail"} <= kinds


def test_describe_abridges_long_values() -> None:
    spec = {"schema": "parity.spec/1", "kind": "SamePadConv", "source": "onnx", "seed": 3,
            "attrs": {"opset": 17, "nodes": [{"kind": "Shape", "inputs": ["x"]}] * 17,
                      "mode": "constant", "options": {str(i): i for i in range(30)}},
            "input_shapes": [[1, 8, 8, 3]], "dtype": "float32"}
    line = describe(spec)
    assert line == ('onnx:SamePadConv(mode="constant", nodes=[…17 items], opset=17, '
                    "options={…30 keys}) on [[1,8,8,3]] float32 seed=3")
    many = dict(spec, attrs={f"a{i}": i for i in range(60)})
    assert len(describe(many)) == 160 and describe(many).endswith("…")
    assert describe(None) == "null"


def test_messages_of_legs_that_did_not_fail_the_run_keep_their_first_lines(
    tmp_path: Path,
) -> None:
    records = make_records(cases=20, seed=4)
    xfail = next(r for r in records if r.get("verdict") == "xfail")
    error = next(r for r in records if r.get("verdict") == "error")
    head = "onnx2torch raised NotImplementedError: Converter is not implemented"
    xfail["failure"]["message"] = head + TRACEBACK.format(stage="onnx2torch", last=head)
    error["failure"]["message"] = head + TRACEBACK.format(stage="onnx2torch", last=head)
    data = data_of(page_of(tmp_path, records))
    legs = {(c["id"], decode_leg(row, data)["leg"]): decode_leg(row, data)
            for c in cases_of(data).values() for row in c.get("legs", [])}
    cut = legs[xfail["case_id"], xfail["leg"]]
    assert data["strings"][cut["message"]] == head
    assert cut["cut"] == len(xfail["failure"]["message"].rstrip()) - len(head) > 800
    whole = legs.get((error["case_id"], error["leg"]))
    if whole is not None:  # unless the error's case is in the page as HTML
        assert data["strings"][whole["message"]] == error["failure"]["message"]
        assert "cut" not in whole


def test_short_message() -> None:
    assert short_message("one\ntwo\nthree\nfour") == ("one\ntwo\nthree", 5)
    assert short_message("x" * 1000) == ("x" * SHORT_MESSAGE_LIMIT, 1000 - SHORT_MESSAGE_LIMIT)
    assert short_message("short\n") == ("short", 0)
    assert short_message(None) == ("", 0)
    traceback = "Traceback (most recent call last):\n  File x\nValueError: y"
    assert short_message(traceback)[0] == "Traceback (most recent call last):\n  File x\n" \
        "ValueError: y"  # a message that is only a traceback keeps its start


def test_yardstick_ratio_is_carried_per_leg(tmp_path: Path) -> None:
    records, passing, held = yardstick_records()
    data = data_of(page_of(tmp_path, records))
    legs = {(c["id"], decode_leg(row, data)["leg"]): decode_leg(row, data)
            for c in cases_of(data).values() for row in c.get("legs", [])}
    assert legs[passing["case_id"], passing["leg"]]["yardstick"] == 3.1
    assert "metrics" not in legs[passing["case_id"], passing["leg"]]
    shown = legs[held["case_id"], held["leg"]]
    assert shown["yardstick"] == 4322.0  # four significant digits, as shown
    assert shown["metrics"]["source_error"] == 1e-7
    assert shown["metrics"]["leg_error"] == 4.2e-3
    others = set(legs) - {(passing["case_id"], passing["leg"]), (held["case_id"], held["leg"])}
    assert others and all("yardstick" not in legs[key] for key in others)


def test_repeated_strings_are_written_once(tmp_path: Path) -> None:
    records = make_records(cases=60, seed=4)
    page = page_of(tmp_path, records)
    data = data_of(page)
    assert len(data["strings"]) == len(set(data["strings"]))
    objects = [json.dumps(o, sort_keys=True) for o in data["objects"]]
    assert len(objects) == len(set(objects))
    wheres = [o for o in data["objects"] if isinstance(o, dict) and "runner" in o]
    assert len(wheres) == 3  # one per leg: its path, stage, runner, device and tolerance
    assert len(data["kinds"]) == len({r["kind"] for r in records if r["record"] == "result"})
    reason = "pads of asymmetric SAME padding dropped"
    reasons = [o for o in data["objects"] if isinstance(o, dict) and o.get("reason") == reason]
    assert len(reasons) == 1


def test_numbers_test_ids_and_repro_are_compact() -> None:
    assert compact_number(1.234567e-7) == 1.235e-07
    assert compact_number(3) == 3 and compact_number("inf") == "inf"
    largest = 1.7976931348623157e308  # four digits round it up to 1.798e308: an infinity
    assert compact_number(largest) == largest and compact_number(-largest) == -largest
    interner = Interner()
    kinds = Kinds(interner)
    record = make_records(cases=1, seed=1)[1]
    record["test"] = f"suites/golden/test_golden.py::test_golden_case[{record['case_id']}]"
    entry = dict(zip(CASE_FIELDS, case_entry(record["case_id"], [record], ["pass"], interner,
                                             kinds, static=False)))
    assert interner.strings[entry["test"]] == "suites/golden/test_golden.py::test_golden_case[{id}]"
    assert "repro" not in entry  # parity repro <id>, as the script writes it
    record["repro"] = "parity repro --leg x " + record["case_id"]
    entry = dict(zip(CASE_FIELDS, case_entry(record["case_id"], [record], ["pass"], interner,
                                             kinds, static=False)))
    assert entry["repro"] == record["repro"]
    assert entry["kind"] == 0 and len(kinds.rows) == 1


def test_non_finite_values_anywhere_keep_the_block_valid_json(tmp_path: Path) -> None:
    records = make_records(cases=3, seed=2)
    for r in records[1:]:
        r["verdict"] = "xfail"
        r["metrics"] = dict(r["metrics"] or {}, max_abs=math.inf, max_rel=math.nan,
                            required_atol="inf")
        r["spec"]["attrs"]["epsilon"] = math.nan
        r["timing"] = {"run": math.inf, "convert": 0.5}
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # NaN, Infinity
    data = data_of(render_html(load_results([path])))
    legs = [decode_leg(row, data) for c in cases_of(data).values() for row in c.get("legs", [])]
    assert legs and all(leg["max_abs"] == "inf" and leg["max_rel"] == "nan" for leg in legs)
    assert all(leg["seconds"] == 0.5 for leg in legs)
    assert all(leg["metrics"]["required_atol"] == "inf" for leg in legs)


def test_an_error_near_the_largest_float_is_written_as_measured(tmp_path: Path) -> None:
    """Finite, but four digits would round it past the largest float, to an infinity the
    page's JSON refuses: a run with such a leg wrote no HTML report at all (the nightly
    profile's float64 MaxPool whose window holds padding only, one reading the lowest
    float64 there: max_abs 1.7976931348623157e308, 2026-11-29)."""
    largest = 1.7976931348623157e308
    records = make_records(cases=1, seed=3)
    for r in records[1:]:
        r["verdict"] = "xfail"
        r["metrics"] = dict(r["metrics"] or {}, max_abs=largest)
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    data = data_of(render_html(load_results([path])))
    legs = [decode_leg(row, data) for c in cases_of(data).values() for row in c.get("legs", [])]
    assert legs and all(leg["max_abs"] == largest for leg in legs)


def test_the_block_is_packed_reproducibly(tmp_path: Path, records: list[dict]) -> None:
    text = json.dumps({"a": "<script>" * 50})
    assert unpack(pack(text)) == json.loads(text)
    assert pack(text) == pack(text)  # no timestamp in the gzip header
    first = page_of(tmp_path, records)
    again = page_of(tmp_path, copy.deepcopy(records))
    block = first[first.index('id="parity-data"'):first.index("</script>",
                                                              first.index('id="parity-data"'))]
    assert block in again
    with pytest.raises(ValueError, match="no parity data block"):
        read_page_data("<html></html>")


def test_coverage_is_in_the_block(tmp_path: Path, records: list[dict]) -> None:
    from .synthetic import domains

    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]),
                       domains=domains())
    coverage = data_of(page)["coverage"]
    strings = data_of(page)["strings"]
    assert coverage["documented"] is True and coverage["unrun"] == []
    kinds = {strings[row[0]]: row for row in coverage["kinds"]}
    label, cases, never, attributes = kinds["Conv2D"]
    assert cases == sum(1 for r in records if r.get("kind") == "Conv2D"
                        and r.get("leg") == "keras>tf2onnx")
    rows = {strings[a[0]]: a for a in attributes}
    assert [strings[v] for v in rows["dilation_rate"][3]] == ["[1,1]", "[2,2]"]
    drawn = rows["padding"][1]
    assert sum(drawn[1::2]) == cases and {strings[v] for v in drawn[::2]} <= {'"valid"',
                                                                               '"same"'}
    assert never >= 2


def test_an_opened_case_s_fields_are_in_the_details_block_only(tmp_path: Path,
                                                               records: list[dict]) -> None:
    import re

    from harness.report.data import DETAIL_FIELDS

    page = page_of(tmp_path, records)
    blocks = dict(re.findall(r'<script type="application/gzip" id="([a-z-]+)">([^<]*)</script>',
                             page))
    listed, details = unpack(blocks["parity-data"]), unpack(blocks["parity-details"])
    assert details["fields"] == list(DETAIL_FIELDS)
    assert len(details["details"]) == len(listed["case_list"]) > 0
    at = [CASE_FIELDS.index(name) for name in DETAIL_FIELDS]
    assert all(i >= len(row) or row[i] is None for row in listed["case_list"] for i in at)
    assert sum(1 for row in details["details"] if row and row[0] is not None) > 0  # specs
    merged = read_page_data(page)["case_list"]
    for row, detail, whole in zip(listed["case_list"], details["details"], merged, strict=True):
        for name, value in zip(DETAIL_FIELDS, detail):
            assert (whole + [None] * len(CASE_FIELDS))[CASE_FIELDS.index(name)] == value
        assert whole[:2] == row[:2]  # id and kind as listed
