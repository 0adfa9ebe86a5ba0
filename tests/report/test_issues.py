"""Known issues as a run met them, and failures grouped by what went wrong."""

from __future__ import annotations

from harness.report.issues import failure_groups, known_issues, signature


def result(case: str, leg: str, verdict: str, **extra) -> dict:
    return {"case_id": case, "kind": "Dense", "leg": leg, "stage": leg.rsplit(">", 1)[-1],
            "verdict": verdict} | extra


GELU = {"id": "tf2onnx-gelu-erfc", "url": "https://github.com/onnx/tensorflow-onnx/pull/2463",
        "reason": "Erfc"}


def test_a_known_issue_counts_its_cases_legs_and_stage() -> None:
    records = [
        result("a", "keras>tf2onnx", "xfail", known_issue=GELU, blame="tf2onnx"),
        result("a", "keras>tf2onnx>onnx2torch", "xfail", known_issue=GELU, blame="tf2onnx"),
        result("b", "keras>tf2onnx", "xfail", known_issue=GELU, blame="tf2onnx"),
        result("c", "keras>tf2onnx", "xpass", known_issue=GELU),
        result("d", "keras>tf2onnx>onnx2torch", "xfail", source="mat",
               known_issue={"id": "other", "url": "", "reason": ""}),
        result("e", "keras>tf2onnx", "pass"),
    ]
    gelu, other = known_issues(records)
    assert gelu.id == "tf2onnx-gelu-erfc" and gelu.url.startswith("https://")
    assert gelu.cases == {"a", "b", "c"} and gelu.results == 4
    assert gelu.legs == {"keras>tf2onnx": 3, "keras>tf2onnx>onnx2torch": 1}
    assert gelu.stage == "tf2onnx"  # the downstream leg's blame names it
    assert gelu.verdicts == {"xfail": 3, "xpass": 1} and gelu.status == "xpass"
    assert other.sources == {"mat"} and other.status == "reproduced"


def test_failures_group_by_stage_category_and_message_without_numbers() -> None:
    def failing(case: str, message: str, category: str = "numeric_mismatch",
                leg: str = "keras>tf2onnx>onnx2torch") -> dict:
        return result(case, leg, "fail", failure={"category": category, "message": message})

    records = [
        failing("a", "max_abs 3.1e-02 exceeds atol 1e-05\nTraceback ..."),
        failing("b", "max_abs 0.5 exceeds atol 1e-05"),
        failing("b", "max_abs 7 exceeds atol 1e-05", leg="keras>tf2onnx>onnx2pytorch"),
        failing("c", "(inherited from keras>tf2onnx) max_abs 2 exceeds atol 1e-05"),
        failing("d", "Unsupported op Erfc", category="unsupported_op"),
        result("e", "keras>tf2onnx", "xpass", known_issue=GELU),
        result("f", "keras>tf2onnx", "xfail", known_issue=GELU),
    ]
    groups = failure_groups(records)
    assert [len(g.records) for g in groups] == [3, 1, 1, 1]
    mismatch = groups[0]
    assert mismatch.stage == "onnx2torch" and mismatch.category == "numeric_mismatch"
    assert mismatch.cases == ["a", "b", "c"]
    assert mismatch.message == "max_abs 3.1e-02 exceeds atol 1e-05"
    assert {g.category for g in groups} == {"numeric_mismatch", "unsupported_op", "xpass"}
    xpass = next(g for g in groups if g.category == "xpass")
    assert xpass.message == "known issue tf2onnx-gelu-erfc did not reproduce"
    assert signature(records[0]) == ("onnx2torch", "numeric_mismatch", "max_abs # exceeds atol #")
