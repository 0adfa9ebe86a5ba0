import numpy as np
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


def test_a_strict_entry_that_no_longer_reproduces_fails_as_xpass():
    pytest.importorskip("tensorflow")
    from harness.pipeline import Harness, ParityFailure

    stale = KnownIssue(id="stale", url="https://example.invalid/1", reason="fixed long ago",
                       legs="keras>*", attrs={"activation": "relu"})
    case = Harness("keras>tf2onnx", known_issues=[stale]).run(RELU)
    assert [leg.verdict for leg in case.legs] == ["xpass"]
    with pytest.raises(ParityFailure, match="known issue stale no longer reproduces"):
        case.check()


STRIDED_DILATED = LayerSpec(
    "Conv2D", {"filters": 1, "kernel_size": [2, 2], "strides": [2, 2], "dilation_rate": [2, 2]},
    ((1, 6, 6, 1),),
)


def test_a_known_source_failure_is_the_cases_xfail_and_an_unknown_one_raises():
    pytest.importorskip("tensorflow")
    from harness.pipeline import Harness, SourceError

    source_bug = KnownIssue(id="src", url="https://example.invalid/2", reason="Keras refuses it",
                            legs="keras", category="source_error",
                            message="not supported in conjunction with")
    case = Harness("keras>tf2onnx", known_issues=[source_bug]).run(STRIDED_DILATED)
    assert [(leg.leg, leg.verdict, leg.category) for leg in case.legs] == [
        ("keras", "xfail", "source_error")]
    assert case.legs[0].known_issue["id"] == "src"
    with pytest.raises(SourceError, match="cannot build the Keras source of Conv2D"):
        Harness("keras>tf2onnx", known_issues=[]).run(STRIDED_DILATED)


@pytest.mark.parametrize("bad, message", [
    (np.array([[1.0, -4.4e30]], np.float32), "implausible values"),
    (np.array([[1.0, np.nan]], np.float32), "non-finite value"),
])
def test_an_implausible_reference_is_a_source_error(bad, message):
    from harness.pipeline import SourceError, _check_plausible

    with pytest.raises(SourceError, match=message):
        _check_plausible(RELU, [np.zeros(2, np.float32), bad])
    _check_plausible(RELU, [np.full((2, 2), 1e5, np.float32)])  # large but plausible
