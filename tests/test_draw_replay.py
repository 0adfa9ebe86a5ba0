"""A derandomised suite test's draws, kept in the stage cache and replayed without Hypothesis'
engine (harness.run.draw_replay, harness.run.stage_cache.draws, harness.corpus_plugin): the
same cases in the same order, a failure shrunk by Hypothesis as before, a stale or damaged
entry drawn again, a kept corpus that differs caught by --parity-cache-verify."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, seed, settings
from hypothesis import strategies as st

from harness.core.spec import LayerSpec
from harness.core.strategies import layer_specs
from harness.run.draw_replay import Diverged, Recorder, replay, replayable
from harness.run.stage_cache import draws
from harness.run.stage_cache.store import CacheWarning, Store

ROOT = Path(__file__).resolve().parents[1]
RELU = layer_specs("Relu", source="onnx")


def drawing_test(seen: list, skip_at: int | None = None, fail_at: int | None = None):
    """A derandomised test that draws an ONNX Relu case an example and notes it."""

    @settings(derandomize=True, database=None, max_examples=6)
    @given(data=st.data())
    def drawing(data):
        spec = data.draw(RELU, label="spec")
        seen.append(spec)
        if skip_at is not None and len(seen) == skip_at:
            pytest.skip("skipped by its example")
        if fail_at is not None and len(seen) >= fail_at:
            raise AssertionError("fails")

    return drawing


def test_a_recorded_corpus_is_the_one_hypothesis_draws_and_replays_it_in_order():
    plain, recorded = [], []
    drawing_test(plain)()
    test = drawing_test(recorded)
    with Recorder(test, "data") as recorder:
        test()
    corpus = recorder.corpus("passed")
    assert recorded == plain and len(plain) == 6  # the recorder changes nothing drawn
    assert [drawn for (drawn,) in corpus.examples] == plain
    recorded.clear()
    replay(test, {}, "data", corpus)
    assert recorded == plain
    assert test.hypothesis.inner_test.__name__ == "drawing"  # the recorder is taken out


def test_a_skip_is_kept_as_the_ending_and_a_replay_skips_at_the_same_example():
    seen = []
    test = drawing_test(seen, skip_at=3)
    with Recorder(test, "data") as recorder, pytest.raises(pytest.skip.Exception):
        test()
    corpus = recorder.corpus("skipped")
    assert len(corpus.examples) == 3 and corpus.ended == "skipped"
    seen.clear()
    with pytest.raises(pytest.skip.Exception):
        replay(test, {}, "data", corpus)
    assert len(seen) == 3
    passing = drawing_test(seen)  # the same draws, no longer skipped: Hypothesis would go on
    with pytest.raises(Diverged, match="skipped the test when it was kept"):
        replay(passing, {}, "data", corpus)


def test_a_failing_run_keeps_nothing_and_a_failing_replay_diverges():
    seen = []
    test = drawing_test(seen, fail_at=2)
    with Recorder(test, "data") as recorder, pytest.raises(AssertionError):
        test()
    assert recorder.corpus("passed") is None
    passing = drawing_test([])
    with Recorder(passing, "data") as recorder:
        passing()
    seen.clear()
    with pytest.raises(Diverged, match="example 2 of 6 raised AssertionError"):
        replay(test, {}, "data", recorder.corpus("passed"))


def test_a_replay_diverges_where_the_body_draws_more_or_fewer_values_than_were_kept():
    spec = LayerSpec("Relu", {"opset": 17}, ((1,),), source="onnx")
    test = drawing_test([])
    with pytest.raises(Diverged, match="draws more than the 0 value"):
        replay(test, {}, "data", draws.Corpus(((),)))
    with pytest.raises(Diverged, match="drew 1 of its 2 kept"):
        replay(test, {}, "data", draws.Corpus(((spec, spec),)))


def test_only_a_derandomised_test_drawing_from_one_data_object_is_replayable():
    assert replayable(drawing_test([])) == "data"
    assert replayable(lambda: None) is None

    @settings(derandomize=False, database=None)
    @given(data=st.data())
    def random(data):
        pass

    @settings(derandomize=True, database=None)
    @given(x=st.integers())
    def integers(x):
        pass

    @settings(derandomize=True, database=None)
    @given(data=st.data(), more=st.data())
    def two(data, more):
        pass

    @seed(1)
    @settings(derandomize=True, database=None)
    @given(data=st.data())
    def seeded(data):
        pass

    @settings(derandomize=True, database=None)
    @given(data=st.data())
    @example(data=None)
    def explicit(data):
        pass

    assert [replayable(t) for t in (random, integers, two, seeded, explicit)] == [None] * 5


SETTINGS_CHILD = """
from hypothesis import HealthCheck, given, settings, strategies as st
from harness.run.draw_replay import settings_text
@settings(derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test(data):
    pass
print(settings_text(test))
"""


def test_the_settings_in_a_key_read_the_same_in_every_process():
    """A settings object's repr lists its suppressed health checks in set order, which
    Python's string hashing changes from one process to the next."""
    texts = {subprocess.run([sys.executable, "-c", SETTINGS_CHILD], capture_output=True,
                            text=True, check=True, cwd=ROOT,
                            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)}).stdout
             for hash_seed in range(1, 5)}
    assert len(texts) == 1, texts
    assert "max_examples=100" in texts.pop()


def test_a_drawn_value_is_kept_only_where_its_json_gives_it_back_exactly():
    spec = LayerSpec("LeakyRelu", {"alpha": -0.0}, ((2,),), source="onnx")
    assert draws.keepable(spec)
    assert not draws.keepable(3) and not draws.keepable({"kind": "Relu"})


def test_a_damaged_entry_warns_is_removed_and_reads_as_none(tmp_path):
    store = Store(tmp_path)
    spec = LayerSpec("Relu", {"opset": 17}, ((1,),), source="onnx")
    draws.keep(store, "ab" * 32, "suites/x.py::t", draws.Corpus(((spec,),)))
    assert draws.read(store, "ab" * 32) == draws.Corpus(((spec,),))
    path = store._entry_path("ab" * 32)
    entry = json.loads(path.read_text())
    entry["examples"] = [[{"kind": "Relu"}]]  # no input_shapes
    path.write_text(json.dumps(entry))
    with pytest.warns(CacheWarning, match="does not read back"):
        assert draws.read(store, "ab" * 32) is None
    assert not path.exists()


# -- as pytest runs the suites ---------------------------------------------------------------
SELECTION = "test_op and (Relu or Slice) and not axis"
SUMMARY = re.compile(r"parity: (\d+) derandomised test\(s\) replayed the draws the stage cache "
                     r"kept, (\d+) drew theirs and kept them")


def run_suite(cache, report, *extra: str, selection: str = SELECTION, env=None):
    command = [sys.executable, "-m", "pytest", "suites/onnx/test_ops.py", "-k", selection,
               "-p", "no:cacheprovider", "-p", "no:xdist", "--hypothesis-profile", "ci",
               "--parity-cache", str(cache), "--parity-report", str(report), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def summary(done) -> tuple[int, int]:
    found = SUMMARY.search(done.stdout)
    assert found, done.stdout[-3000:]
    return int(found.group(1)), int(found.group(2))


def cases(report: Path) -> list[tuple]:
    rows = []
    for line in (report / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("record") == "result":
            rows.append((record["test"], record["case_id"], record["leg"], record["verdict"]))
    return sorted(rows)


def test_a_second_run_replays_the_draws_and_records_the_same_cases(tmp_path):
    cold = run_suite(tmp_path / "cache", tmp_path / "cold")
    assert cold.returncode == 0, cold.stdout[-3000:]
    replayed, kept = summary(cold)
    assert replayed == 0 and kept >= 5
    warm = run_suite(tmp_path / "cache", tmp_path / "warm")
    assert warm.returncode == 0, warm.stdout[-3000:]
    assert summary(warm) == (kept, 0)
    assert cases(tmp_path / "warm") == cases(tmp_path / "cold")
    # Without the cache nothing is kept or replayed, and the same cases run.
    bare = run_suite("none", tmp_path / "bare")
    assert bare.returncode == 0 and not SUMMARY.search(bare.stdout)
    assert cases(tmp_path / "bare") == cases(tmp_path / "cold")


FAULT = "onnx2torch-fault-leakyrelu-alpha"  # tests/onnx_faults.py: LeakyRelu's alpha ignored
# Hypothesis' shrunk example: its draw, and the choices that reproduce it.
SHRUNK = re.compile(r"Draw 1 \(spec\): LayerSpec\(.*?\)\n|@reproduce_failure\([^)]*\)", re.S)


def shrunk_example(stdout: str) -> list[str]:
    """The shrunk example in pytest's FAILURES section. The short summary after it repeats the
    whole message where pytest believes it runs on CI ($CI or $BUILD_NUMBER set)."""
    failures = stdout.split("short test summary info")[0]
    return SHRUNK.findall(failures)


def test_a_replayed_case_that_fails_is_shrunk_by_hypothesis_as_without_the_cache(tmp_path):
    """A converter changed since the draws were kept fails a kept case: the replay gives way
    to Hypothesis, which draws the same corpus, fails at the same case and shrinks it."""
    selection = "test_op and LeakyRelu and not axis"
    kept = run_suite(tmp_path / "cache", tmp_path / "kept", selection=selection)
    assert summary(kept) == (0, 1), kept.stdout[-3000:]
    fault = ("--parity-plugins", "tests.onnx_faults", "--parity-paths", f"onnx>{FAULT}")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    replayed = run_suite(tmp_path / "cache", tmp_path / "replayed", *fault, selection=selection,
                         env=env)
    bare = run_suite("none", tmp_path / "bare", *fault, selection=selection, env=env)
    assert replayed.returncode == bare.returncode == 1, replayed.stdout[-3000:]
    shrunk = shrunk_example(replayed.stdout)
    assert len(shrunk) == 2 and shrunk == shrunk_example(bare.stdout), replayed.stdout[-3000:]
    assert not SUMMARY.search(replayed.stdout)  # the replay gave way; a failing run keeps nothing
    failing = [row for row in cases(tmp_path / "replayed") if row[3] == "fail"]
    assert failing and failing == [row for row in cases(tmp_path / "bare") if row[3] == "fail"]


def kept_entries(cache: Path) -> list[Path]:
    return [path for path in (cache / "v1" / "entries").glob("*/*.json")
            if json.loads(path.read_text()).get("kind") == "draws"]


def test_a_kept_corpus_that_differs_from_hypothesis_fails_under_verify(tmp_path):
    selection = "test_op and Relu and not (axis or Leaky or PRelu or Thresholded or Conv)"
    cache = tmp_path / "cache"
    assert summary(run_suite(cache, tmp_path / "kept", selection=selection)) == (0, 1)
    (path,) = kept_entries(cache)
    entry = json.loads(path.read_text())
    entry["examples"][0][0]["seed"] += 1  # as if the key had missed what decides the draws
    path.write_text(json.dumps(entry))
    unverified = run_suite(cache, tmp_path / "unverified", selection=selection)
    assert summary(unverified) == (1, 0)  # trusted, as every cache entry is
    verified = run_suite(cache, tmp_path / "verified", "--parity-cache-verify", "1",
                         selection=selection)
    assert verified.returncode == 1
    assert "the draws kept for suites/onnx/test_ops.py::test_op[Relu] differ" in verified.stdout
    assert "example 1:" in verified.stdout and not path.exists()


def test_the_draw_recorder_draws_every_case_under_hypothesis(tmp_path):
    """The tool that measures the draw code never replays them."""
    cache = tmp_path / "cache"
    assert summary(run_suite(cache, tmp_path / "kept"))[1] >= 5
    env = {"PARITY_DRAW_OUT": str(tmp_path / "drawn"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = run_suite(cache, "none", "-p", "harness.tools.draw_recorder", env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not SUMMARY.search(done.stdout)
    assert (tmp_path / "drawn" / "ci-specs.jsonl").read_text().count("\n") >= 12


def test_a_key_holds_the_packages_drawing_runs_and_never_a_converter():
    assert set(draws.inputs()["packages"]) >= {"hypothesis", "numpy", "onnx"}
    assert not {"onnx2torch", "tf2onnx", "onnx2pytorch"} & set(draws.inputs()["packages"])


def test_a_plugin_source_unregistered_after_its_kinds_loaded_keeps_its_draw_code_in_keys():
    """A plugin source a test registered and unregistered (tests/test_sources.py's toy) has
    its kinds still registered: the keys take its kinds module's content, and never ask the
    source registry for a source it no longer holds (CI failed 393 tests on it)."""
    from harness import sources
    from harness.core import registry
    from tests.test_sources import ToySource

    sources.register(ToySource())
    try:
        registry.load(ToySource.name)
    finally:
        sources.unregister(ToySource.name)
    found = draws._draw_code_outside_harness()
    file = ROOT / "tests" / "test_sources.py"
    assert found[ToySource.kinds_module] == hashlib.sha256(file.read_bytes()).hexdigest()[:16]


def test_draw_code_whose_file_is_gone_keys_this_process_alone(tmp_path, monkeypatch):
    """A kind's draw from a module whose file was removed since: no key another process
    computes holds it, so no later run replays draws whose code nobody can compare."""
    import importlib

    from harness.core import registry
    from harness.core.registry import LayerKind

    (tmp_path / "vanishing_draws.py").write_text("def draw(pick):\n    return {}, []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("vanishing_draws")
    kind = LayerKind(name="Vanishing", family="toys", domains={}, draw=module.draw,
                     source="toy")
    monkeypatch.setattr(registry, "registered", lambda: [kind])
    (tmp_path / "vanishing_draws.py").unlink()
    monkeypatch.setattr(sys.modules["vanishing_draws"], "__file__", None)
    first = draws._draw_code_outside_harness()["vanishing_draws"]
    assert first != draws._draw_code_outside_harness()["vanishing_draws"]
