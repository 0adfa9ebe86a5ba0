import pytest

from harness import known_issues
from harness.known_issues import KnownIssue, KnownIssueFileError
from harness.pipeline import LegResult, _attribute
from harness.spec import LayerSpec

GELU = LayerSpec("Dense", {"units": 1, "activation": "gelu"}, ((1, 1),))
RELU = LayerSpec("Dense", {"units": 1, "activation": "relu"}, ((1, 1),))


def test_match_by_attributes_and_leg_glob():
    issue = KnownIssue(id="x", url="u", reason="r", legs="keras>*", attrs={"activation": "gelu"})
    assert issue.matches_case(GELU, "keras>tf2onnx")
    assert issue.matches_case(GELU, "keras>tf2onnx>onnx2torch")
    assert not issue.matches_case(RELU, "keras>tf2onnx")
    assert not issue.matches_case(GELU, "mat>torch")
    assert issue.strict


def test_message_entries_recognise_the_failure_and_are_not_strict():
    issue = KnownIssue(id="x", url="u", reason="r", legs="*>onnx2torch",
                       message=r"operation_type='Size'")
    assert not issue.strict
    assert issue.matches_failure("conversion_error", "NotImplementedError: ... operation_type='Size', ...")
    assert not issue.matches_failure("conversion_error", "operation_type='Erfc'")


def test_the_shipped_file_loads_and_every_pin_matches_its_own_entry():
    issues = known_issues.load()
    assert issues
    for issue in issues:
        assert issue.url.startswith("https://")
        if issue.minimal is not None:
            legs = [leg for leg in ("keras", "keras>tf2onnx", "keras>tf2onnx>onnx2torch")
                    if issue.matches_case(issue.minimal, leg)]
            assert legs, f"{issue.id}: its minimal spec does not match its own entry"


@pytest.mark.parametrize("body, message", [
    ("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\n", "missing key 'legs'"),
    ("[[issue]]\nid='a'\nurl='u'\nreason='r'\nlegs='*'\n" * 2, "duplicate ids"),
    ("[[issue]\n", "not valid TOML"),
])
def test_bad_pattern_files_name_the_file_and_entry(tmp_path, body, message):
    path = tmp_path / "known.toml"
    path.write_text(body)
    with pytest.raises(KnownIssueFileError, match=message) as info:
        known_issues.load(path)
    assert str(path) in str(info.value)


def _leg(leg, verdict, known=None):
    return LegResult(path="p", leg=leg, stage=leg.rsplit(">", 1)[-1], runner="r",
                     verdict=verdict, category=None if verdict == "pass" else "numeric_mismatch",
                     known_issue=known)


def test_a_leg_downstream_of_a_known_bug_inherits_its_xfail_and_blame():
    upstream = _leg("keras>tf2onnx", "xfail", {"id": "k", "url": "u", "reason": "r"})
    upstream.blame = "tf2onnx"
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "error"), upstream)
    assert downstream.verdict == "xfail"
    assert downstream.known_issue["id"] == "k"
    assert downstream.blame == "tf2onnx"


def test_a_leg_that_fails_on_its_own_is_blamed_on_its_stage():
    upstream = _leg("keras>tf2onnx", "pass")
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "fail"), upstream)
    assert downstream.verdict == "fail" and downstream.blame == "onnx2torch"


def test_an_unknown_upstream_failure_is_blamed_upstream_but_still_fails():
    upstream = _attribute(_leg("keras>tf2onnx", "fail"), None)
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "fail"), upstream)
    assert downstream.verdict == "fail" and downstream.blame == "tf2onnx"
