"""The pytest plugin end to end: a small suite under pytest-xdist writes one report holding
every worker's results, with failures recorded as the shrunk case only."""

import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("xdist")
pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = textwrap.dedent('''
    from harness import converters
    from tests.fakes import Fake, negated, raising

    converters.register(Fake("negating", "onnx2torch", after=negated))
    converters.register(Fake("crashing", "onnx2torch",
                             before=raising("converter exploded on node <b>conv</b>")))
    pytest_plugins = ["harness.plugin"]
''')

SUITE = textwrap.dedent('''
    import pytest
    from harness.core.spec import LayerSpec


    @pytest.mark.parametrize("units", [1, 2, 3, 4])
    def test_dense(parity, units):
        parity.check(LayerSpec("Dense", {"units": units}, ((2, 3),), seed=units))


    def test_add(parity):
        parity.check(LayerSpec("Add", {}, ((1, 4), (1, 4)), seed=5))
''')


@pytest.fixture
def suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)  # for tests.fakes
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_workers_write_one_report(suite):
    result = suite.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider",
        "--parity-paths", "keras>tf2onnx>negating",
    )
    result.assert_outcomes(failed=5)  # every case fails: the torch leg is negated
    reports = suite.path / "reports"
    records = _records(reports / "results.jsonl")
    runs = [r for r in records if r["record"] == "run"]
    results = [r for r in records if r["record"] == "result"]
    assert {r["shard"] for r in runs} == {"gw0", "gw1"}
    assert all("--parity-paths 'keras>tf2onnx>negating'" in r["command"] for r in runs)
    assert len({r["run_id"] for r in records}) == 1
    assert len(results) == 5 * 2  # five cases, two legs each
    assert {r["shard"] for r in results} == {"gw0", "gw1"}
    by_leg = {}
    for r in results:
        by_leg.setdefault(r["leg"], set()).add(r["verdict"])
    assert by_leg == {"keras>tf2onnx": {"pass"}, "keras>tf2onnx>negating": {"fail"}}
    failing = [r for r in results if r["verdict"] == "fail"]
    assert all(r["blame"] == "negating" for r in failing)
    assert all(r["metrics"]["max_abs"] > 0 and r["repro"].startswith("parity repro ")
               for r in failing)
    assert "leg keras>tf2onnx>negating (stage negating" in result.stdout.str()

    junit = ET.parse(reports / "junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == len(results)
    assert len(junit.findall(".//failure")) == len(failing)
    html = (reports / "parity.html").read_text()
    assert "keras&gt;tf2onnx&gt;negating" in html or "keras>tf2onnx>negating" in html
    assert not (reports / ".shards").exists() or not any((reports / ".shards").iterdir())


def test_the_report_of_a_real_run_in_a_browser(suite):
    """Passes, failures and errors from a real run: the page shows them and filters them."""
    from tests.report.test_browser import (
        CHROMIUM,
        SCREENSHOTS,
        open_report,
        rendered,
        visible_kinds,
    )

    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"no system Chromium at {CHROMIUM}")
    result = suite.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider",
        "--parity-paths", "keras>tf2onnx>negating,keras>tf2onnx>crashing",
    )
    result.assert_outcomes(failed=5)
    report = suite.path / "reports" / "parity.html"
    verdicts = {json.loads(line).get("verdict") for line in
                (suite.path / "reports" / "results.jsonl").read_text().splitlines()}
    assert {"pass", "fail", "error"} <= verdicts
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        for opened in open_report(browser, report):
            page = opened.page
            assert page.locator("#verdict").inner_text() == "FAIL"
            page.wait_for_selector("html[data-built]", state="attached")  # the matrix: when idle
            assert sorted(visible_kinds(page)) == ["Add", "Dense"]
            matrix = rendered(page.locator("#matrix")).inner_text()
            for leg in ("keras>tf2onnx", "keras>tf2onnx>negating", "keras>tf2onnx>crashing"):
                assert leg in matrix
            page.fill("#f-kind", "add")
            assert visible_kinds(page) == ["Add"]
            page.fill("#f-kind", "")
            assert "converter exploded on node <b>conv</b>" in page.content().replace(
                "&lt;", "<").replace("&gt;", ">")
            assert page.locator("b", has_text="conv").count() == 0  # escaped, not markup
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")  # the first screen, not the matrix
            page.screenshot(path=str(SCREENSHOTS / "real-run.png"), full_page=False)
            opened.assert_clean()
        browser.close()


def test_an_unknown_converter_is_a_usage_error(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-paths", "keras>nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown converter 'nope'*"])


def test_cuda_legs_skip_with_a_reason_without_a_gpu(suite):
    from harness.core.machine import cuda_unavailable

    reason = cuda_unavailable()
    if reason is None:
        pytest.skip("this machine has a CUDA device")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--parity-device", "cuda",
                                        "--parity-report", "none", "-k", "add")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*--parity-device cuda: {reason}*"])


def _collected(result):
    return {line.split(" ")[0] for line in result.stdout.lines if "::" in line}


def test_shards_split_the_tests_disjointly_and_completely(suite):
    everything = _collected(suite.runpytest_subprocess("-p", "no:cacheprovider",
                                                      "--collect-only", "-q"))
    shards = [_collected(suite.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only",
                                                    "-q", "--parity-shard", f"{i}/3"))
              for i in (1, 2, 3)]
    assert len(everything) == 5
    assert set().union(*shards) == everything
    assert sum(len(s) for s in shards) == len(everything)
    again = _collected(suite.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only",
                                                  "-q", "--parity-shard", "2/3"))
    assert again == shards[1]  # the same split on every run and machine
    bad = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-shard", "4/3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_sharded_runs_merge_into_one_report(suite):
    for i in (1, 2, 3):
        suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-shard", f"{i}/3",
                                   "--parity-report", f"reports/shard-{i}")
    # A shard that drew no test writes nothing; the merge takes the ones that ran.
    shard_files = sorted((suite.path / "reports").glob("shard-*/results.jsonl"))
    assert len(shard_files) >= 2
    records = [_records(path) for path in shard_files]
    labels = {r["shard"] for shard in records for r in shard if r["record"] == "run"}
    assert len(labels) == len(shard_files) and all(label.endswith("/3:main") for label in labels)
    out = suite.path / "reports" / "merged.html"
    junit = suite.path / "reports" / "merged.xml"
    # In a process of its own: pytester restores sys.modules after the test, and a framework
    # the report imported here could not be imported again by a later test in this process.
    merged = suite.run(sys.executable, "-m", "harness.cli", "report", "--merge",
                       *map(str, shard_files), "-o", str(out), "--junit", str(junit),
                       "--exit-zero")
    assert merged.ret == 0, merged.stderr.str()
    cases = {r["case_id"] for shard in records for r in shard if r["record"] == "result"}
    assert len(cases) == 5
    testcases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(testcases) == sum(1 for shard in records for r in shard if r["record"] == "result")


def test_report_none_writes_nothing(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-report", "none",
                                        "-k", "add")
    result.assert_outcomes(passed=1)
    assert not (suite.path / "reports").exists()


def test_a_rerun_keeps_the_previous_results_for_the_trend(suite):
    suite.runpytest_subprocess("-p", "no:cacheprovider", "-k", "add")
    suite.runpytest_subprocess("-p", "no:cacheprovider", "-k", "add")
    reports = suite.path / "reports"
    current, previous = _records(reports / "results.jsonl"), _records(reports / "results.previous.jsonl")
    assert current[0]["run_id"] != previous[0]["run_id"]


def test_slow_tests_stay_out_of_the_quick_profiles_unless_selected(pytester):
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_marks=textwrap.dedent('''
        import pytest

        @pytest.mark.slow
        def test_architecture():
            pass

        def test_layer():
            pass
    '''))

    def collected(*args):
        return _collected(pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--collect-only", "-q", *args))

    quick = {"test_marks.py::test_layer"}
    everything = quick | {"test_marks.py::test_architecture"}
    assert collected("--hypothesis-profile", "ci") == quick
    assert collected("--hypothesis-profile", "nightly") == everything
    assert collected("--hypothesis-profile", "ci", "-m", "slow") == everything - quick


def test_a_shrunk_failure_records_its_hypothesis_reproduction(suite):
    suite.makepyfile(test_drawn=textwrap.dedent('''
        from hypothesis import given, settings, strategies as st
        from harness.core.spec import LayerSpec

        @settings(max_examples=3, derandomize=True, database=None)
        @given(units=st.integers(1, 3))
        def test_drawn_dense(parity, units):
            parity.check(LayerSpec("Dense", {"units": units}, ((1, 2),), seed=units))
    '''))
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "test_drawn.py",
                                        "--parity-paths", "keras>tf2onnx>negating")
    result.assert_outcomes(failed=1)
    results = [r for r in _records(suite.path / "reports" / "results.jsonl")
               if r["record"] == "result" and r["verdict"] == "fail"]
    assert results, "the negated leg must fail"
    # Only the shrunk example is kept, and it says how Hypothesis replays it.
    assert {r["spec"]["attrs"]["units"] for r in results} == {1}
    blob = results[0]["hypothesis"]["reproduce_failure"]
    assert blob.startswith("@reproduce_failure('") and blob in result.stdout.str()


PROCESS_RECORDER = textwrap.dedent('''
    import importlib.abc
    import json
    import sys

    pytest_plugins = ["harness.plugin"]

    # The order imports start in (sys.modules' order is not it: a package can re-enter it
    # after its submodules).
    FRAMEWORKS = ("torch", "onnx2torch", "torchvision", "tensorflow")
    started = []


    class StartRecorder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name in FRAMEWORKS and name not in started:
                started.append(name)
            return None


    sys.meta_path.insert(0, StartRecorder())


    def pytest_sessionfinish(session):
        """Each process writes the frameworks it imported, in the order it began them."""
        who = getattr(session.config, "workerinput", {}).get("workerid", "controller")
        seen = {"frameworks": [name for name in started if name in sys.modules],
                "maxschedchunk": getattr(session.config.option, "maxschedchunk", None)}
        with open(f"{who}.json", "w") as out:
            json.dump(seen, out)
''')


@pytest.mark.parametrize(("imports", "expected"), [
    ("import tensorflow  # noqa: F401", ["torch", "onnx2torch", "torchvision", "tensorflow"]),
    # torchvision costs a worker two seconds that a run whose stages all hit does not use, but
    # when it comes in is part of the stack a verdict is made on: imported before onnx2torch,
    # it decides which symbolic_helper onnx2torch binds, and with it every
    # onnx2torch>torch-onnx-ts leg (docs/benchmarks.md, "torchvision imported late, tried
    # again", and "onnx2torch imported before torchvision"). So every worker imports
    # onnx2torch, then torchvision, with torch.
    ("", ["torch", "onnx2torch", "torchvision"]),
], ids=["tensorflow", "no-tensorflow"])
def test_the_controller_imports_no_framework_and_workers_import_torch_first(pytester, imports,
                                                                            expected):
    """The xdist controller runs no test: the frameworks are its workers' to import, torch,
    onnx2torch and torchvision before TensorFlow (DESIGN.md hazards, harness.core.frameworks);
    it hands the tests out two at a time."""
    pytester.makeconftest(PROCESS_RECORDER)
    pytester.makepyfile(test_imports=textwrap.dedent('''
        import pytest
        {imports}


        @pytest.mark.parametrize("n", range(4))
        def test_nothing(n):
            pass
    ''').format(imports=imports))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider",
                                           "--parity-report", "none")
    result.assert_outcomes(passed=4)
    controller = json.loads((pytester.path / "controller.json").read_text())
    assert controller == {"frameworks": [], "maxschedchunk": 2}
    for worker in ("gw0", "gw1"):
        frameworks = json.loads((pytester.path / f"{worker}.json").read_text())["frameworks"]
        assert frameworks == expected
