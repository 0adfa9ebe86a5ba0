from __future__ import annotations

import copy

import pytest

from harness.report import compute_trend

from .synthetic import make_records


def results_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r["record"] == "result"]


def test_same_run_has_no_trend(records: list[dict]) -> None:
    trend = compute_trend(results_of(records), results_of(records))
    assert not trend.newly_failing and not trend.newly_passing and not trend.moved
    assert trend.added == trend.removed == 0


def test_new_failures_new_passes_and_moves(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    passing = [r for r in now if r["verdict"] == "pass" and r["metrics"]]
    failing = [r for r in now if r["verdict"] == "fail"]
    passing[0]["verdict"] = "fail"
    passing[1]["verdict"] = "error"
    failing[0]["verdict"] = "pass"
    passing[2]["metrics"]["max_abs"] *= 11  # moved up
    passing[3]["metrics"]["max_rel"] /= 20  # moved down
    passing[4]["metrics"]["max_abs"] *= 9  # under the factor
    trend = compute_trend(now, before)
    key = lambda r: (r["case_id"], r["leg"])  # noqa: E731
    assert [k for k, _, _ in trend.newly_failing] == sorted([key(passing[0]), key(passing[1])])
    assert [k for k, _, _ in trend.newly_passing] == [key(failing[0])]
    moved = {(m.case_id, m.leg, m.metric): m for m in trend.moved}
    assert set(moved) == {(*key(passing[2]), "max_abs"), (*key(passing[3]), "max_rel")}
    assert moved[(*key(passing[2]), "max_abs")].factor == pytest.approx(11)
    assert moved[(*key(passing[3]), "max_rel")].factor == pytest.approx(1 / 20)


def test_factor_is_a_parameter(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    target = next(r for r in now if r["metrics"])
    target["metrics"]["max_abs"] *= 3
    assert not compute_trend(now, before).moved
    assert len(compute_trend(now, before, factor=2).moved) == 1
    with pytest.raises(ValueError):
        compute_trend(now, before, factor=1)


def test_zero_errors_use_the_floor(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    a, b = [r for r in now if r["metrics"]][:2]
    for r in (a, b):
        next(
            x
            for x in before
            if x is not r and x["case_id"] == r["case_id"] and x["leg"] == r["leg"]
        )["metrics"]["max_abs"] = 0.0
    a["metrics"]["max_abs"] = 0.0
    b["metrics"]["max_abs"] = 1e-20
    assert not [m for m in compute_trend(now, before).moved if m.metric == "max_abs"]


def test_added_and_removed_cases() -> None:
    before = results_of(make_records(cases=5, seed=1))
    now = before[3:] + results_of(make_records(cases=2, seed=2))
    trend = compute_trend(now, before)
    assert trend.removed == 3
    assert trend.added == 6


def test_several_records_of_one_key_take_the_worst(records: list[dict]) -> None:
    before = results_of(records)
    target = next(r for r in before if r["verdict"] == "pass")
    cuda_fail = dict(copy.deepcopy(target), device="cuda", verdict="fail")
    trend = compute_trend(before + [cuda_fail], before)
    assert [k for k, _, _ in trend.newly_failing] == [(target["case_id"], target["leg"])]


def test_records_without_metrics_are_skipped_for_moves(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    for r in now:
        r["metrics"] = None
    assert not compute_trend(now, before).moved


def test_infinite_metrics_as_the_results_writer_spells_them(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    up, down, both, nan = [r for r in now if r["metrics"]][:4]
    originals = {
        id(r): next(x for x in before if (x["case_id"], x["leg"]) == (r["case_id"], r["leg"]))
        for r in (up, down, both, nan)
    }
    up["metrics"]["max_rel"] = "inf"
    originals[id(down)]["metrics"]["max_rel"] = "inf"
    both["metrics"]["max_rel"] = "inf"
    originals[id(both)]["metrics"]["max_rel"] = "inf"
    nan["metrics"]["max_rel"] = "nan"
    moved = {
        (m.case_id, m.leg): m for m in compute_trend(now, before).moved if m.metric == "max_rel"
    }
    assert set(moved) == {(up["case_id"], up["leg"]), (down["case_id"], down["leg"])}
    assert moved[(up["case_id"], up["leg"])].factor == float("inf")
    assert moved[(down["case_id"], down["leg"])].factor == 0.0


def test_fixed_stopped_and_failing_in_new_cases(records: list[dict]) -> None:
    before = results_of(records)
    now = copy.deepcopy(before)
    failing = [r for r in now if r["verdict"] in ("fail", "error")]
    failing[0]["verdict"] = "pass"
    failing[1].update(verdict="xfail", known_issue={"id": "k", "url": "", "reason": ""})
    held = [r for r in before if r["verdict"] == "xfail"]
    assert held and all(r["known_issue"]["id"] == "onnx2pytorch#42" for r in held)
    stopped = next(r for r in now if (r["case_id"], r["leg"]) == (held[0]["case_id"],
                                                                     held[0]["leg"]))
    stopped.update(verdict="pass", known_issue=None)
    fresh = dict(copy.deepcopy(failing[2]), case_id="f" * 16, verdict="error")
    trend = compute_trend([*now, fresh], before)
    key = lambda r: (r["case_id"], r["leg"])  # noqa: E731
    assert sorted(k for k, _, _ in trend.fixed) == sorted([key(failing[0]), key(failing[1])])
    assert [k for k, _, _ in trend.newly_passing] == [key(failing[0])]
    assert [k for k, _, _ in trend.stopped["onnx2pytorch#42"]] == [key(stopped)]
    assert trend.held["onnx2pytorch#42"] == len(held)
    assert [k for k, _ in trend.added_failing] == [key(fresh)]
    assert not trend.newly_failing
