"""The stage cache keeps a conversion or a run that raised: a warm run records the cold
run's leg, message and verdict without converting or running again; a new converter misses; a failure that says
how the stage ran (a timeout, a worker that died, a signal) is never kept; a verified hit
converts again and must raise the same way.

Real onnx2torch on an ONNX op it has no converter for (the known issue
``onnx2torch-no-converter``) and on a Range whose module raises when torch runs it; the failures that must not be kept come from stages made of one
function (tests.fakes.Stage), since no real converter times out on demand.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness import converters
from harness.converters import TransientFailure
from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import CacheMismatch, KeptFailure, StageCache, repeatable
from tests.cache_runs import fresh_process, run_cached, verdicts
from tests.fakes import Stage

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")


def no_converter() -> LayerSpec:
    return next(i for i in known_issues.load() if i.id == "onnx2torch-no-converter").minimal


def failures_kept(folder: Path) -> list[dict]:
    found = [json.loads(path.read_text()) for path in (folder / "v1" / "entries").glob("*/*.json")]
    return [entry for entry in found if "raised" in entry]


def test_a_warm_run_records_the_cold_failure_without_converting(tmp_path):
    spec = no_converter()
    cold, _, cold_cache = run_cached(tmp_path, spec, "onnx>onnx2torch")
    assert cold_cache.module_log == [("onnx2torch", "miss")]
    (kept,) = failures_kept(tmp_path)
    assert kept["raised"]["type"] == "NotImplementedError"
    warm, artifacts, warm_cache = run_cached(tmp_path, spec, "onnx>onnx2torch")
    assert warm_cache.module_log == [("onnx2torch", "hit")]
    assert isinstance(artifacts["onnx>onnx2torch"], KeptFailure)
    assert verdicts(warm) == verdicts(cold)  # the message too, traceback and all
    assert [(leg.verdict, leg.category) for leg in warm.legs] == [("error", "unsupported_op")]


def test_a_kept_failure_meets_its_known_issue_as_the_cold_one_did(tmp_path):
    spec = no_converter()
    fresh_process()
    run = [Harness("onnx>onnx2torch", cache=StageCache(tmp_path)).run(spec) for _ in range(2)]
    assert [leg.verdict for leg in run[1].legs] == ["xfail"]
    assert run[1].legs[0].known_issue == run[0].legs[0].known_issue
    assert run[1].legs[0].known_issue["id"] == "onnx2torch-no-converter"


def test_a_new_converter_converts_again(tmp_path, monkeypatch):
    spec = no_converter()
    run_cached(tmp_path, spec, "onnx>onnx2torch")
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnx2torch=9.9")
    _, artifacts, cache = run_cached(tmp_path, spec, "onnx>onnx2torch")
    assert cache.module_log == [("onnx2torch", "miss")]
    assert isinstance(artifacts["onnx>onnx2torch"], NotImplementedError)


class _WorkerGone(RuntimeError, TransientFailure):
    pass


def _raised_by_a_timeout():
    try:
        raise subprocess.TimeoutExpired("onnx2tf", 600)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError("the conversion did not finish") from exc


@pytest.mark.parametrize("raise_it", [
    pytest.param(lambda: (_ for _ in ()).throw(_WorkerGone("the worker died")), id="transient"),
    pytest.param(lambda: (_ for _ in ()).throw(TimeoutError("too slow")), id="timeout"),
    pytest.param(lambda: (_ for _ in ()).throw(MemoryError()), id="memory"),
    pytest.param(_raised_by_a_timeout, id="caused-by-a-timeout"),
])
def test_a_failure_of_how_the_stage_ran_is_not_kept(tmp_path, raise_it):
    def make(artifact):
        raise_it()

    converters.register(Stage("flaky", "onnx", "onnx", make))
    try:
        for _ in range(2):
            result, _, cache = run_cached(tmp_path, ADD, "onnx>flaky")
            assert cache.log[-1] == ("flaky", "miss")
            assert [leg.verdict for leg in result.legs] == ["error"]
    finally:
        converters.unregister("flaky")
    assert failures_kept(tmp_path) == []


def test_repeatable_reads_the_whole_chain_of_causes():
    assert repeatable(NotImplementedError("no converter"))
    try:
        try:
            raise OSError("disk full")
        except OSError:
            raise ValueError("could not write the model")  # noqa: B904 (its context)
    except ValueError as exc:
        assert not repeatable(exc)


def test_a_verified_kept_failure_converts_again_and_must_raise_alike(tmp_path):
    spec = no_converter()
    run_cached(tmp_path, spec, "onnx>onnx2torch")
    fresh_process()
    cache = StageCache(tmp_path, verify=1.0)
    Harness("onnx>onnx2torch", cache=cache, known_issues=[]).run(spec)
    assert cache.verify_log == [("reading onnx", "same"), ("onnx2torch", "same")]
    # An entry that says a stage raised where it converts: the verified hit says so.
    (entry,) = failures_kept(tmp_path)
    fresh_process()
    run_cached(tmp_path / "add", ADD, "onnx>onnx2torch")
    (add_path,) = [p for p in (tmp_path / "add" / "v1" / "entries").glob("*/*.json")
                   if json.loads(p.read_text()).get("stage") == "onnx2torch"]
    add_path.write_text(json.dumps({**json.loads(add_path.read_text()), "raised": entry["raised"]}))
    fresh_process()
    with pytest.raises(CacheMismatch, match="the cold conversion did not"):
        Harness("onnx>onnx2torch", cache=StageCache(tmp_path / "add", verify=1.0),
                known_issues=[]).run(ADD)
    assert not add_path.exists()  # the contradicted entry is removed


def test_a_damaged_kept_failure_is_a_miss_with_a_warning(tmp_path):
    spec = no_converter()
    run_cached(tmp_path, spec, "onnx>onnx2torch")
    for path in (tmp_path / "v1" / "entries").glob("*/*.json"):
        entry = json.loads(path.read_text())
        if "raised" in entry:
            path.write_text(json.dumps({**entry, "raised": {"type": 3}}))
    with pytest.warns(Warning, match="damaged"):
        result, _, cache = run_cached(tmp_path, spec, "onnx>onnx2torch")
    assert cache.module_log == [("onnx2torch", "miss")]
    assert [leg.verdict for leg in result.legs] == ["error"]


# -- runs that raised --------------------------------------------------------------------------
RANGE = LayerSpec("Range", {"operands": [{"const": 1, "dtype": "float32"},
                                         {"const": 0.0, "dtype": "float32"},
                                         {"const": 1.0, "dtype": "float32"}], "opset": 17},
                  (), seed=0, source="onnx")  # from 1 to 0 by 1: torch.arange refuses it


def test_a_warm_run_records_the_cold_run_failure_without_converting_or_running(tmp_path):
    from harness.run.stage_cache.cache import LazyArtifact

    cold, _, cold_cache = run_cached(tmp_path, RANGE, "onnx>onnx2torch")
    assert cold_cache.run_log == [("run torch", "miss")]
    assert [(leg.verdict, leg.category) for leg in cold.legs] == [("error", "runtime_error")]
    (kept,) = failures_kept(tmp_path)
    assert kept["kind"] == "run" and kept["raised"]["step"] == "run"
    warm, artifacts, warm_cache = run_cached(tmp_path, RANGE, "onnx>onnx2torch")
    assert warm_cache.run_log == [("run torch", "hit")]
    module = artifacts["onnx>onnx2torch"]
    assert isinstance(module, LazyArtifact) and "not built" in repr(module)
    assert verdicts(warm) == verdicts(cold)
    fresh_process()  # a verified hit runs again and raises alike
    cache = StageCache(tmp_path, verify=1.0)
    Harness("onnx>onnx2torch", cache=cache, known_issues=[]).run(RANGE)
    assert ("run torch", "same") in cache.verify_log


def test_a_run_failure_off_the_cpu_or_of_a_module_that_was_not_made_is_not_kept(tmp_path):
    from harness.converters import Artifact
    from harness.run.stage_cache.cache import LazyArtifact

    class Runner:
        name, device = "torch", "cpu"

    cache = StageCache(tmp_path)

    def unbuildable():
        raise ValueError("the module could not be made again")

    lazy = LazyArtifact("torch", ["x"], {}, unbuildable)
    cache._identify(lazy, "lineage")
    cache.keep_run_failure(Runner(), lazy, [], ValueError("made nothing"), "message", "run")
    on_cuda = Runner()
    on_cuda.device = "cuda"
    made = Artifact("torch", object(), ["x"])
    cache._identify(made, "lineage")
    cache.keep_run_failure(on_cuda, made, [], RuntimeError("device-side assert triggered"),
                           "message", "run")
    assert failures_kept(tmp_path) == []
