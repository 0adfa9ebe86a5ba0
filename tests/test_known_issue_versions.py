"""Known issues that know the versions they hold on: an entry's optional ``versions`` key
(``versions = { keras = ">=3.6" }``) states the installed distributions' versions it holds
with; outside them it claims no failure and its pins expect nothing (skipped, saying the
versions wanted and those installed)."""

import importlib.metadata

import pytest

from harness.core import known_issues
from harness.core.spec import LayerSpec
from suites.verdicts import skip_unless_it_holds_here

NUMPY = importlib.metadata.version("numpy")
SPEC = LayerSpec("Relu", {"opset": 17}, ((2, 3),), seed=0, source="onnx")
MESSAGE = "the converter refused Relu"


def entry(tmp_path, versions: str):
    path = tmp_path / "issues.toml"
    path.write_text(f"""
[[issue]]
id = "a"
url = "https://example.org/a"
reason = "a Relu the converter refuses"
nature = "refusal"
party = "onnx2torch"
legs = "onnx>onnx2torch"
kind = "Relu"
message = "refused Relu"
{versions}
""")
    return known_issues.load(path)


def claimed(issues) -> list[str]:
    return [issue.id for issue in known_issues.candidates(issues, SPEC, "onnx>onnx2torch")
            if issue.matches_failure("conversion_error", MESSAGE)]


def test_inside_its_versions_an_entry_holds_and_outside_it_claims_nothing(tmp_path):
    inside = entry(tmp_path, f'versions = {{ numpy = "=={NUMPY}" }}')
    assert inside[0].outside_versions() is None
    assert claimed(inside) == ["a"]
    assert inside[0].to_json()["versions"] == f"numpy =={NUMPY}"
    outside = entry(tmp_path, f'versions = {{ numpy = ">{NUMPY}" }}')
    assert outside[0].outside_versions() == f"numpy {NUMPY}, not >{NUMPY}"
    assert claimed(outside) == []
    assert claimed(entry(tmp_path, "")) == ["a"]  # no key: every version


def test_a_distribution_not_installed_decides_nothing(tmp_path):
    """A stack without the distribution (the floor lane's golden replay, without Keras) judges
    artifacts that a release inside the range wrote: the entry still holds there."""
    issues = entry(tmp_path, 'versions = { parity-test-absent-distribution = ">=1" }')
    assert issues[0].outside_versions() is None
    assert claimed(issues) == ["a"]
    both = entry(tmp_path, f'versions = {{ parity-test-absent-distribution = ">=1", numpy = ">{NUMPY}" }}')
    assert both[0].outside_versions() == f"numpy {NUMPY}, not >{NUMPY}"


def test_a_pin_outside_its_versions_is_skipped_naming_both(tmp_path):
    issue = entry(tmp_path, f'versions = {{ numpy = "<{NUMPY}" }}')[0]
    with pytest.raises(pytest.skip.Exception, match=(
            rf"a holds with numpy <{NUMPY}; here numpy {NUMPY}, not <{NUMPY}")):
        skip_unless_it_holds_here(issue, "cpu")
    skip_unless_it_holds_here(entry(tmp_path, f'versions = {{ numpy = ">={NUMPY}" }}')[0], "cpu")


@pytest.mark.parametrize("versions", ['versions = "keras>=3.6"', "versions = { keras = 3 }",
                                      'versions = { keras = "3.6 or later" }', "versions = {}"])
def test_a_versions_key_that_is_not_distribution_specifiers_is_refused(tmp_path, versions):
    with pytest.raises(known_issues.KnownIssueFileError, match=r"issue\[0\] \(a\): versions"):
        entry(tmp_path, versions)
