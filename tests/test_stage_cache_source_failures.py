"""The stage cache keeps a reading the source could not make: a warm run records the case as
the cold run did (error, known issue's xfail, or the source's refusal on this machine) without
reading the source again; a damaged entry is a miss; a failure that says how the reading ran is
never kept, nor one off the CPU; a verified hit reads again and must fail alike.

The source is the real ONNX source on a graph onnx's checker refuses (the known issue
``onnx-mvn-float16-function-body``: MeanVarianceNormalization's function body in float16). A
refusal of the machine (``SourceRefusal``) comes from TensorFlow without oneDNN only, so the
ONNX source is made to refuse here by replacing its ``read`` for the cold run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import sources
from harness.core import known_issues
from harness.run.pipeline import Harness
from harness.run.stage_cache.cache import CacheMismatch, StageCache
from harness.sources import SourceError, SourceRefusal
from tests.cache_runs import fresh_process, verdicts

pytest.importorskip("onnxruntime")

PATH = "onnx>ort-optimized"
STATE = {"oneDNN": False, "cpu": "a CPU without AVX-512"}


def run_cached(folder: Path, spec, paths: str):
    """(the case's result, the cache) of one run on ``folder``, as a new process makes it."""
    fresh_process()
    cache = StageCache(folder)
    return Harness(paths, cache=cache, known_issues=[]).run(spec), cache


def invalid_graph():
    return next(i for i in known_issues.load()
                if i.id == "onnx-mvn-float16-function-body").minimal


def entries(folder: Path) -> dict[Path, dict]:
    return {path: json.loads(path.read_text())
            for path in (folder / "v1" / "entries").glob("*/*.json")}


def kept_failures(folder: Path) -> dict[Path, dict]:
    return {path: entry for path, entry in entries(folder).items() if "raised" in entry}


def reading_forbidden(monkeypatch) -> None:
    def read(*args, **kwargs):
        raise AssertionError("the source was read although its failure was kept")
    monkeypatch.setattr(type(sources.get("onnx")), "read", read)


def refusing(monkeypatch, cause: BaseException | None = None) -> None:
    def read(self, spec, **kwargs):
        refusal = SourceRefusal(f"this machine cannot run {spec.describe()}", STATE)
        raise refusal from cause
    monkeypatch.setattr(type(sources.get("onnx")), "read", read)


def test_a_warm_run_records_the_cold_source_error_without_reading(tmp_path, monkeypatch):
    spec = invalid_graph()
    cold, cold_cache = run_cached(tmp_path, spec, PATH)
    assert cold_cache.log == [("reading onnx", "miss")]
    assert [(leg.verdict, leg.category) for leg in cold.legs] == [("error", "source_error")]
    (kept,) = kept_failures(tmp_path).values()
    assert kept["raised"]["type"] == "SourceError"
    assert "InferenceError" in kept["raised"]["message"]
    with monkeypatch.context() as patched:
        reading_forbidden(patched)
        warm, warm_cache = run_cached(tmp_path, spec, PATH)
    assert warm_cache.log == [("reading onnx", "hit")]
    assert verdicts(warm) == verdicts(cold)  # the message too, traceback and all


def test_a_kept_source_error_meets_its_known_issue_as_the_cold_one_did(tmp_path, monkeypatch):
    spec = invalid_graph()
    fresh_process()
    cold = Harness(PATH, cache=StageCache(tmp_path)).run(spec)
    reading_forbidden(monkeypatch)
    fresh_process()
    warm = Harness(PATH, cache=StageCache(tmp_path)).run(spec)
    assert [leg.verdict for leg in warm.legs] == ["xfail"]
    assert warm.legs[0].known_issue["id"] == "onnx-mvn-float16-function-body"
    assert verdicts(warm) == verdicts(cold)


def test_a_kept_refusal_is_the_same_skip_with_the_machine_s_state(tmp_path, monkeypatch):
    spec = invalid_graph()
    with monkeypatch.context() as patched:
        refusing(patched)
        cold, _ = run_cached(tmp_path, spec, PATH)
    assert [(leg.verdict, leg.category) for leg in cold.legs] == [("skip", "source_refusal")]
    (kept,) = kept_failures(tmp_path).values()
    assert kept["raised"]["type"] == "SourceRefusal"
    assert kept["raised"]["environment"] == STATE
    reading_forbidden(monkeypatch)
    warm, warm_cache = run_cached(tmp_path, spec, PATH)
    assert warm_cache.log == [("reading onnx", "hit")]
    assert verdicts(warm) == verdicts(cold)
    assert warm.legs[0].metrics == {"environment": STATE}


@pytest.mark.parametrize("cause", [MemoryError("out of memory"), OSError(28, "disk full")],
                         ids=["memory", "os"])
def test_a_failure_of_how_the_reading_ran_is_not_kept(tmp_path, monkeypatch, cause):
    refusing(monkeypatch, cause)
    run_cached(tmp_path, invalid_graph(), PATH)
    assert kept_failures(tmp_path) == {}


def test_a_failure_off_the_cpu_is_not_kept(tmp_path):
    spec = invalid_graph()
    fresh_process()
    cache = StageCache(tmp_path)
    with pytest.raises(SourceError):
        cache.read(sources.get("onnx"), spec, policy=None, device="cuda")
    assert kept_failures(tmp_path) == {}


def test_a_damaged_kept_source_failure_is_a_miss_with_a_warning(tmp_path):
    spec = invalid_graph()
    cold, _ = run_cached(tmp_path, spec, PATH)
    ((path, entry),) = kept_failures(tmp_path).items()
    path.write_text(json.dumps({**entry, "raised": {"type": "SourceError", "text": 3}}))
    with pytest.warns(Warning, match="damaged"):
        warm, cache = run_cached(tmp_path, spec, PATH)
    assert cache.log == [("reading onnx", "miss")]
    assert verdicts(warm) == verdicts(cold)
    assert kept_failures(tmp_path)  # read again, and kept again


def test_a_verified_kept_source_failure_reads_again_and_must_fail_alike(tmp_path, monkeypatch):
    spec = invalid_graph()
    run_cached(tmp_path, spec, PATH)
    fresh_process()
    cache = StageCache(tmp_path, verify=1.0)
    Harness(PATH, cache=cache, known_issues=[]).run(spec)
    assert cache.verify_log == [("reading onnx", "same")]
    # The entry says the source refused where it fails: the verified hit says so.
    ((path, entry),) = kept_failures(tmp_path).items()
    path.write_text(json.dumps({**entry, "raised": {**entry["raised"], "type": "SourceRefusal",
                                                    "environment": STATE}}))
    fresh_process()
    with pytest.raises(CacheMismatch, match="raised SourceRefusal, the cold reading raised "
                                            "SourceError"):
        Harness(PATH, cache=StageCache(tmp_path, verify=1.0), known_issues=[]).run(spec)
    assert not path.exists()  # the contradicted entry is removed
