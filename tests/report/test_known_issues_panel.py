"""The report's known-issues panel groups the issues a run met by what each one is."""

from harness.report.html import _known_issues
from harness.report.issues import known_issues


def _record(issue, leg="keras>tf2onnx", case="c1", verdict="xfail"):
    return {"known_issue": issue, "leg": leg, "case_id": case, "verdict": verdict,
            "stage": leg.rsplit(">", 1)[-1]}


def test_the_panel_groups_issues_by_nature_in_a_fixed_order():
    records = [
        _record({"id": "ref", "url": "https://github.com/onnx/onnx/issues", "reason": "r",
                 "nature": "reference", "party": "onnx"}, leg="onnx", case="c3"),
        _record({"id": "wrong", "url": "https://github.com/onnx/tensorflow-onnx/issues",
                 "reason": "w", "nature": "wrong-output", "party": "tf2onnx"}),
        _record({"id": "refused", "url": "https://github.com/onnx/tensorflow-onnx/issues",
                 "reason": "x", "nature": "refusal", "party": "tf2onnx"}, case="c2"),
        _record({"id": "old-record-no-such-entry", "url": "https://example.org/1",
                 "reason": "y"}, case="c4"),
    ]
    uses = known_issues(records)
    assert {use.id: use.nature for use in uses}["wrong"] == "wrong-output"
    html = _known_issues(uses, None)
    order = [html.index(f'<tr class="issue-group"><th colspan="6">{nature} ')
             for nature in ("wrong-output", "refusal", "reference", "unclassified")]
    assert order == sorted(order)
    assert html.index(">wrong<") < html.index(">refused<") < html.index(">ref<")
    assert "1 issue" in html and "tf2onnx" in html


def test_a_record_written_before_natures_takes_its_entrys():
    uses = known_issues([_record({"id": "tf2onnx-gelu-erfc",
                                  "url": "https://github.com/onnx/tensorflow-onnx/pull/2463",
                                  "reason": "r"})])
    assert (uses[0].nature, uses[0].party) == ("refusal", "tf2onnx")
