"""Every failure is a record: a source that raises, a source that refuses the case on this
machine, a test that fails on its own or in a fixture. The report counts as many failing
tests as pytest does."""

import json
import os
import textwrap
from pathlib import Path

import pytest

from harness.core.spec import LayerSpec
from harness.report import load_results
from harness.report.summary import failing_tests
from harness.run.pipeline import Harness
from harness.sources import SourceError, SourceRefusal
from tests.test_sources import ToySource, toy_source

pytest.importorskip("xdist")
pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[1]


class TroubledSource(ToySource):
    """The toy ONNX source, which raises as the spec asks: a SourceError, any other
    exception (a plugin's own bug), or the source's refusal to run on this machine."""

    name = "troubled"
    default_paths = ("troubled>onnx2torch",)

    def read(self, spec, *, policy, device="cpu"):
        trouble = spec.attrs.get("trouble")
        if trouble == "source_error":
            raise SourceError(f"cannot build {spec.describe()}: broken on purpose")
        if trouble == "plugin_bug":
            raise KeyError("a plugin's own bug")
        if trouble == "refusal":
            raise SourceRefusal("this machine cannot run it", environment={"cpu": "toy CPU"})
        return super().read(spec, policy=policy, device=device)


troubled = toy_source(TroubledSource)


def _legs(trouble):
    case = Harness(known_issues=[]).run(
        LayerSpec("Relu", {"trouble": trouble}, ((2, 3),), seed=1, source="troubled"))
    return [(leg.leg, leg.verdict, leg.category, leg.blame) for leg in case.legs], case


@pytest.mark.parametrize("trouble", ["source_error", "plugin_bug"])
def test_a_source_that_raises_is_an_error_record_of_the_source(troubled, trouble):
    legs, case = _legs(trouble)
    assert legs == [("troubled", "error", "source_error", "troubled")]
    assert ("broken on purpose" if trouble == "source_error" else "KeyError") in \
        case.legs[0].message
    with pytest.raises(Exception, match="1 leg\\(s\\) failed"):
        case.check()


def test_a_source_refusal_is_a_skip_that_says_why_and_where(troubled):
    legs, case = _legs("refusal")
    assert legs == [("troubled", "skip", "source_refusal", "troubled")]
    assert case.legs[0].metrics == {"environment": {"cpu": "toy CPU"}}
    case.check()  # not a failure


CONFTEST = textwrap.dedent('''
    from harness import sources
    from tests.test_failure_records import TroubledSource

    sources.register(TroubledSource())
    pytest_plugins = ["harness.plugin"]
''')

SUITE = textwrap.dedent('''
    import pytest
    from harness.core.spec import LayerSpec


    def case(trouble):
        return LayerSpec("Relu", {"trouble": trouble}, ((2, 3),), seed=1, source="troubled")


    def test_passes(parity):
        parity.check(case(None))


    @pytest.mark.parametrize("trouble", ["source_error", "plugin_bug"])
    def test_source_raises(parity, trouble):
        parity.check(case(trouble))


    def test_source_refuses(parity):
        parity.check(case("refusal"))


    def test_own_assertion(parity):
        parity.check(case(None))
        assert 1 == 2, "a test's own assertion"


    @pytest.fixture
    def broken_fixture():
        raise RuntimeError("a fixture that breaks")


    def test_fixture_breaks(broken_fixture):
        pass
''')


def test_the_report_counts_every_failing_test_that_pytest_counts(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3, errors=1)
    failed = {line.split(" ")[1] for line in result.outlines
              if line.startswith(("FAILED ", "ERROR "))}
    assert len(failed) == 4

    reports = pytester.path / "reports"
    results = load_results([reports / "results.jsonl"]).results
    assert failing_tests(results) == failed
    by_test = {r["test"].split("::")[1]: r for r in results if r["verdict"] != "pass"}
    assert by_test["test_source_raises[source_error]"]["failure"]["category"] == "source_error"
    assert by_test["test_source_raises[plugin_bug]"]["failure"]["category"] == "source_error"
    refused = by_test["test_source_refuses"]
    assert (refused["verdict"], refused["failure"]["category"]) == ("skip", "source_refusal")
    own = by_test["test_own_assertion"]
    assert (own["verdict"], own["failure"]["category"]) == ("error", "test_failure")
    assert "a test's own assertion" in own["failure"]["message"]
    assert "a fixture that breaks" in by_test["test_fixture_breaks"]["failure"]["message"]
    assert "of 4 failing tests" in (reports / "parity.html").read_text()
    junit = (reports / "junit.xml").read_text()
    assert junit.count("<error ") + junit.count("<failure ") == 4
    assert json.loads((reports / "results.jsonl").read_text().splitlines()[0])["record"] == "run"
