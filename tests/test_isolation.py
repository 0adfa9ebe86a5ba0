"""Process isolation (--parity-isolate): a converter that segfaults or hangs its process costs
that case a 'crash' or 'timeout' record naming the stage, and the run goes on.

These run real pytest sessions (pytester, in subprocesses) and real workers: Keras, tf2onnx,
onnxruntime and onnx2torch, with converters from tests/isolation_stages.py that break their
process on one case only.
"""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[1]
STAGES = Path(__file__).with_name("isolation_stages.py")

CONFTEST = 'pytest_plugins = ["harness.plugin"]\n'

SUITE = '''
import sys

import pytest
from harness.core.spec import LayerSpec


@pytest.mark.parametrize("units", [1, 2, 3, 4])
def test_dense(parity, units):
    parity.check(LayerSpec("Dense", {"units": units}, ((2, 3),), seed=units))


def test_add(parity):
    parity.check(LayerSpec("Add", {}, ((1, 4), (1, 4)), seed=5))


def test_the_parent_imports_tensorflow_only_without_isolation(parity):
    assert ("tensorflow" in sys.modules) is not parity.isolate
'''


@pytest.fixture
def suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)  # for tests.fakes
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=SUITE, isolation_stages=STAGES.read_text())
    return pytester


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _by_case(records):
    cases = {}
    for r in records:
        if r["record"] == "result":
            cases.setdefault(r["spec"]["kind"] + str(r["spec"]["attrs"].get("units", "")),
                             {})[r["leg"]] = r
    return cases


def test_a_segfaulting_converter_is_a_crash_of_its_case_and_the_run_goes_on(suite):
    """The crash is its leg's record; the case's leg beside it (ort-optimized, from the same
    tf2onnx model) runs in the fresh worker, and so do the later cases."""
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--parity-isolate", "--parity-plugins", "isolation_stages",
        "--parity-paths", "keras>tf2onnx>segfaulting,keras>tf2onnx>ort-optimized",
    )
    result.assert_outcomes(passed=5, failed=1)  # Dense(units=3) crashed, the rest ran
    out = result.stdout.str()
    assert "was killed by SIGSEGV (signal 11) in stage segfaulting" in out
    reports = suite.path / "reports"
    cases = _by_case(_records(reports / "results.jsonl"))
    assert set(cases) == {"Dense1", "Dense2", "Dense3", "Dense4", "Add"}
    crashed = cases.pop("Dense3")
    assert crashed["keras>tf2onnx"]["verdict"] == "pass"  # judged before the crash: kept
    assert crashed["keras>tf2onnx>ort-optimized"]["verdict"] == "pass"  # in the fresh worker
    leg = crashed["keras>tf2onnx>segfaulting"]
    assert (leg["verdict"], leg["stage"], leg["blame"], leg["runner"]) == (
        "error", "segfaulting", "segfaulting", "torch")
    assert leg["failure"]["category"] == "crash"
    message = leg["failure"]["message"]
    assert message.startswith("the worker process was killed by SIGSEGV (signal 11) in stage "
                              "segfaulting, converting leg keras>tf2onnx>segfaulting")
    # faulthandler's stack in the worker's stderr points at the converter's line
    assert "Segmentation fault" in message and "isolation_stages.py" in message
    for name, legs in cases.items():
        assert {r["verdict"] for r in legs.values()} == {"pass"}, name
        assert set(legs) == {"keras>tf2onnx", "keras>tf2onnx>segfaulting",
                             "keras>tf2onnx>ort-optimized"}

    html = (reports / "parity.html").read_text()
    assert "failure: crash at stage segfaulting" in html
    assert "crash @ segfaulting: the worker process was killed by SIGSEGV" in html
    junit = ET.parse(reports / "junit.xml").getroot()
    errors = junit.findall(".//error")
    assert [e.get("type") for e in errors] == ["crash"]
    assert "SIGSEGV" in errors[0].get("message")


def test_a_crash_while_running_a_leg_names_the_runtime(suite):
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--parity-isolate", "--parity-plugins", "isolation_stages",
        "--parity-paths", "keras>tf2onnx>aborting-at-run", "-k", "test_dense[3] or test_dense[4]",
    )
    result.assert_outcomes(passed=1, failed=1)
    cases = _by_case(_records(suite.path / "reports" / "results.jsonl"))
    leg = cases["Dense3"]["keras>tf2onnx>aborting-at-run"]
    assert leg["failure"]["category"] == "crash"
    assert leg["failure"]["message"].startswith(
        "the worker process was killed by SIGABRT (signal 6) while running leg "
        "keras>tf2onnx>aborting-at-run (stage aborting-at-run) on its runtime")
    assert {r["verdict"] for r in cases["Dense4"].values()} == {"pass"}


def test_a_hanging_converter_is_a_timeout_of_its_case(suite):
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--parity-isolate", "--parity-plugins", "isolation_stages",
        "--parity-paths", "keras>tf2onnx>hanging", "--parity-timeout", "20", "-k", "dense",
    )
    result.assert_outcomes(passed=3, failed=1)  # Dense(units=2) hangs
    cases = _by_case(_records(suite.path / "reports" / "results.jsonl"))
    leg = cases.pop("Dense2")["keras>tf2onnx>hanging"]
    assert (leg["verdict"], leg["failure"]["category"], leg["stage"]) == (
        "error", "timeout", "hanging")
    message = leg["failure"]["message"]
    assert message.startswith("the case did not finish within 20 s (--parity-timeout): the "
                              "worker was killed in stage hanging, converting leg "
                              "keras>tf2onnx>hanging")
    assert "isolation_stages.py" in message and "in convert" in message  # the worker's stack
    assert all(r["verdict"] == "pass" for legs in cases.values() for r in legs.values())
    assert "failure: timeout at stage hanging" in (
        suite.path / "reports" / "parity.html").read_text()


def _comparable(records):
    """The records without what differs between any two runs (ids, times, timings)."""
    drop = {"run_id", "time", "timing", "started", "command"}
    return sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True)
                   for r in records if r["record"] == "result")


def test_isolated_and_in_process_runs_record_the_same_results(suite):
    """Without --parity-isolate nothing changes: cases run in the pytest process (which then
    has TensorFlow) and record what an isolated run records."""
    plain = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-report", "plain")
    plain.assert_outcomes(passed=6)
    isolated = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-report", "isolated",
                                          "--parity-isolate")
    isolated.assert_outcomes(passed=6)
    a = _records(suite.path / "plain" / "results.jsonl")
    b = _records(suite.path / "isolated" / "results.jsonl")
    from harness.converters import parse_paths

    default_legs = {leg for path in parse_paths(None) for leg in path.legs()}
    on_default_legs = [r for r in a if r["record"] == "result" and r["leg"] in default_legs]
    assert len(on_default_legs) == 5 * len(default_legs)  # five cases, every default leg
    # (and the torch-end stages on the profile's sample of them, isolated as in-process)
    assert _comparable(a) == _comparable(b)


def test_isolation_under_xdist_one_worker_process_each(suite):
    result = suite.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--parity-isolate",
        "--parity-plugins", "isolation_stages", "--parity-paths", "keras>tf2onnx>segfaulting",
    )
    result.assert_outcomes(passed=5, failed=1)
    records = _records(suite.path / "reports" / "results.jsonl")
    assert {r["shard"] for r in records if r["record"] == "run"} == {"gw0", "gw1"}
    crashed = [r for r in records if r.get("failure") and r["failure"]["category"] == "crash"]
    assert [r["spec"]["attrs"]["units"] for r in crashed] == [3]


def test_an_unknown_plugin_module_is_a_usage_error(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-plugins", "nope_mod")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--parity-plugins: cannot import plugin module 'nope_mod'*"])


# -- the Python API -------------------------------------------------------------------------

def test_a_converter_registered_only_in_the_parent_is_named_in_the_start_up_error():
    from harness import converters
    from harness.run.isolation import IsolatedHarness, IsolationError
    from tests.fakes import Fake

    converters.register(Fake("only-in-the-parent", "onnx2torch"))
    harness = IsolatedHarness("keras>tf2onnx>only-in-the-parent", timeout=60)
    try:
        from harness.core.spec import LayerSpec

        with pytest.raises(IsolationError) as info:
            harness.run(LayerSpec("Dense", {"units": 1}, ((1, 2),)))
    finally:
        harness.close()
        converters.unregister("only-in-the-parent")
    text = str(info.value)
    assert "unknown converter 'only-in-the-parent'" in text
    assert "--parity-plugins MODULE" in text and "parity.converters" in text


def test_the_worker_survives_a_raising_case_and_replays_golden_cases():
    from harness import golden
    from harness.core.spec import LayerSpec
    from harness.run.isolation import IsolatedHarness
    from harness.run.pipeline import Harness

    harness = IsolatedHarness("keras>tf2onnx>onnx2torch", timeout=120)
    try:
        store = golden.read_manifest(golden.default_root())
        # a case without side paths: the worker replays a stored case's side-path legs too,
        # which Harness.replay of the stored artifacts alone does not run
        first = next(case for case in sorted(store.cases)
                     if "side_paths.json" not in store.cases[case])
        stored = golden.load_case(store, first)
        here = Harness("keras>tf2onnx>onnx2torch").replay(
            stored.spec, stored.inputs, stored.expected, stored.stored_artifacts(), stored.native)
        there = harness.replay(stored.spec, stored)
        assert [(leg.leg, leg.verdict, (leg.metrics or {}).get("max_abs")) for leg in there.legs] == [
            (leg.leg, leg.verdict, (leg.metrics or {}).get("max_abs")) for leg in here.legs]
        assert there.legs
        broken = harness.run(LayerSpec("Dense", {"units": 1, "no_such_argument": 1}, ((1, 2),)))
        assert [(leg.leg, leg.verdict, leg.category) for leg in broken.legs] == [
            ("keras", "error", "source_error")]
        assert "no_such_argument" in broken.legs[0].message
        # the worker survives a case its source cannot build: the next one runs in the same
        # process
        pid = harness.pid
        case = harness.run(LayerSpec("Dense", {"units": 2}, ((1, 2),)))
        assert [leg.verdict for leg in case.legs] == ["pass", "pass"]
        assert harness.pid == pid and harness.starts == 1
        assert "tensorflow" in harness.info["versions"] or "keras" in harness.info["versions"]
    finally:
        harness.close()
    assert harness.pid is None


def test_the_worker_runs_a_case_down_only_the_paths_from_the_legs_asked():
    """A cover's leg case (harness.tools.leg_cover) in an isolating run: the worker keeps the
    paths that go on from its legs, as Harness.run does in this process."""
    pytest.importorskip("onnxruntime")
    from harness.core.spec import LayerSpec
    from harness.run.isolation import IsolatedHarness

    harness = IsolatedHarness(None, timeout=120)
    try:
        spec = LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx")
        every = {leg.leg for leg in harness.run(spec).legs}
        assert {"onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized"} <= every
        legs = {leg.leg for leg in harness.run(spec, ("onnx>onnx2pytorch",)).legs}
        assert legs - {"onnx"} == {"onnx>onnx2pytorch"}
        assert harness.run(spec, ("onnx>no-such-converter",)).legs == []
    finally:
        harness.close()
