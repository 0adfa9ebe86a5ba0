"""Issue #26, the stage cache's runs and unstored modules: a warm run takes onnxruntime's and
torch's outputs from the cache and converts no PyTorch module it converted before, with the
verdicts of a run without it; a changed runtime version, input, runner setting or damaged
entry misses.

Everything is real: onnx2torch and onnxruntime on a one-Add ONNX graph. A new run is a new
process; here, a new ``StageCache`` on the same folder with the per-process package
fingerprints forgotten.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import CacheWarning, LazyArtifact
from harness.run.stage_cache.readings import Uncacheable, meta_document, meta_from
from tests.cache_runs import run_cached, verdicts

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

PATHS = "onnx>onnx2torch,onnx>ort-optimized"
ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")


def run(folder: Path, spec: LayerSpec = ADD, paths: str = PATHS, **kwargs):
    return run_cached(folder, spec, paths, **kwargs)


def outcomes(log) -> list[str]:
    return [outcome for _, outcome in log]


def entries_of_kind(folder: Path, kind: str) -> list[Path]:
    return [path for path in (folder / "v1" / "entries").glob("*/*.json")
            if json.loads(path.read_text())["kind"] == kind]


def test_a_warm_run_neither_runs_nor_converts_a_module_again(tmp_path):
    cold, cold_artifacts, cold_cache = run(tmp_path)
    assert cold_cache.module_log == [("onnx2torch", "miss")]
    assert cold_cache.run_log == [("run torch", "miss"), ("run onnxruntime", "miss")]
    assert {leg.verdict for leg in cold.legs} == {"pass"}
    warm, warm_artifacts, warm_cache = run(tmp_path)
    assert warm_cache.module_log == [("onnx2torch", "hit")]
    assert warm_cache.run_log == [("run torch", "hit"), ("run onnxruntime", "hit")]
    assert verdicts(warm) == verdicts(cold)
    module = warm_artifacts["onnx>onnx2torch"]
    assert isinstance(module, LazyArtifact) and "not built" in repr(module)
    assert module.meta == cold_artifacts["onnx>onnx2torch"].meta  # returned_training: a tuple
    # Built on first use, it is the module onnx2torch makes, giving the kept outputs.
    import torch

    inputs = [torch.from_numpy(x) for x in Harness(PATHS).read_source(ADD).inputs]
    assert torch.equal(module.model(*inputs), cold_artifacts["onnx>onnx2torch"].model(*inputs))


def test_a_missed_run_converts_the_module_it_needs(tmp_path):
    cold, _, _ = run(tmp_path)
    for path in entries_of_kind(tmp_path, "run"):
        path.unlink()
    warm, artifacts, cache = run(tmp_path)
    assert cache.module_log == [("onnx2torch", "hit")]
    assert outcomes(cache.run_log) == ["miss", "miss"]
    assert "not built" not in repr(artifacts["onnx>onnx2torch"])  # converted to be run
    assert verdicts(warm) == verdicts(cold)


def test_a_changed_runtime_input_or_runner_setting_misses_the_run(tmp_path, monkeypatch):
    cold, _, _ = run(tmp_path)
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnxruntime=9.9")
    again, _, cache = run(tmp_path)
    # The ONNX reading depends on onnxruntime too; torch's module and run do not.
    assert cache.log[0] == ("reading onnx", "miss")
    assert cache.run_log == [("run torch", "hit"), ("run onnxruntime", "miss")]
    assert verdicts(again) == verdicts(cold)
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnx2torch=9.9")  # a new converter: its module
    _, _, cache = run(tmp_path)
    assert cache.module_log == [("onnx2torch", "miss")]
    assert cache.run_log == [("run torch", "miss"), ("run onnxruntime", "hit")]
    monkeypatch.setenv(keys.OVERRIDE_ENV, "torch=9.9")  # a new runtime: the module's run
    _, _, cache = run(tmp_path)
    assert outcomes(cache.module_log) == ["miss"] and cache.run_log[0] == ("run torch", "miss")
    monkeypatch.delenv(keys.OVERRIDE_ENV)
    # onnxruntime's thread setting, other than the one an unsized session takes here (an
    # xdist worker's OMP_NUM_THREADS=1): the same count would rightly be a hit
    from harness.runtimes.onnxruntime import default_threads

    _, _, cache = run(tmp_path, threads=default_threads() + 1)
    assert cache.run_log == [("run torch", "hit"), ("run onnxruntime", "miss")]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2 if threads == 1 else 1)  # torch's, as a pytest-xdist worker's
    try:
        _, _, cache = run(tmp_path)
    finally:
        torch.set_num_threads(threads)
    assert cache.run_log == [("run torch", "miss"), ("run onnxruntime", "hit")]
    _, _, cache = run(tmp_path, dataclasses.replace(ADD, seed=2))  # other inputs
    assert outcomes(cache.run_log) == ["miss", "miss"]
    _, _, cache = run(tmp_path, opset=13)  # another option: another module, its run
    assert cache.module_log == [("onnx2torch", "miss")]
    assert cache.run_log[0] == ("run torch", "miss")


def test_a_damaged_run_entry_is_a_miss_with_a_warning(tmp_path):
    cold, _, _ = run(tmp_path)
    for path in entries_of_kind(tmp_path, "run"):
        blob = json.loads(path.read_text())["arrays"]
        damaged = tmp_path / "v1" / "blobs" / blob[:2] / blob
        damaged.write_bytes(damaged.read_bytes()[:10])
    with pytest.warns(CacheWarning, match="damaged"):
        warm, _, cache = run(tmp_path)
    # Both runtimes' outputs are the same bytes, one blob: the first run finds it damaged
    # and writes it again, the second then finds it whole.
    assert cache.run_log[0] == ("run torch", "miss")
    assert verdicts(warm) == verdicts(cold)
    _, _, cache = run(tmp_path)  # rewritten whole
    assert outcomes(cache.run_log) == ["hit", "hit"]


def test_no_cache_runs_and_converts_every_time(tmp_path):
    cached, _, _ = run(tmp_path)
    direct = Harness(PATHS, known_issues=[]).run(ADD)
    assert verdicts(direct) == verdicts(cached)


def test_metadata_keeps_tuples_apart_from_lists():
    meta = {"returned_training": ("", "block"), "names": ["a"], "nested": {"n": (1, 2.5)},
            "flag": True, "none": None}
    document = meta_document(meta)
    back = meta_from(json.loads(json.dumps(document)))
    assert back == meta and isinstance(back["returned_training"], tuple)
    assert isinstance(back["names"], list)
    with pytest.raises(Uncacheable):
        meta_document({"module": object()})
    with pytest.raises(Uncacheable):
        meta_document({"not a number": float("nan")})


@pytest.mark.parametrize(("stage", "required"), [
    ("onnx2torch", "onnx"),      # onnx2torch declares no onnx, and runs its code
    ("torch-onnx", "onnx-ir"),   # the exporter's IR, which onnxscript requires
    ("tf2onnx", "keras"),        # tensorflow requires keras
])
def test_a_stage_s_key_holds_the_frameworks_its_packages_require(monkeypatch, stage, required):
    import importlib.util

    from harness.converters import ConvertOptions, get

    converter = get(stage)
    missing = [p for p in converter.packages if importlib.util.find_spec(p.replace("-", "_")) is None]
    if missing:  # found, not imported: TensorFlow before torchvision aborts (DESIGN.md)
        pytest.skip(f"not installed: {', '.join(missing)}")
    before = keys.stage_key(converter, "input", ConvertOptions())
    monkeypatch.setenv(keys.OVERRIDE_ENV, f"{required}=9.9")
    assert keys.stage_key(converter, "input", ConvertOptions()) != before


TF2ONNX_STAGES = ["tf2onnx", "tf2onnx-keras2", "tf2onnx-tflite", "tf2onnx-savedmodel",
                  "keras-onnx"]


@pytest.mark.parametrize("stage", TF2ONNX_STAGES)
def test_a_tf2onnx_stage_s_key_holds_the_variable_tf2onnx_reads_when_it_converts(
        monkeypatch, stage):
    """TF2ONNX_CATCH_ERRORS, set to any value, runs tf2onnx's optimizers without the copy of
    the graph that lets it skip one that raises: a conversion made with it set is not one
    made without it. Nor is one made with PARITY_TF2ONNX_COPIES=1 (tf2onnx's default way,
    which parity's own gives too: keyed apart, so that comparing the two converts both)."""
    from harness.converters import ConvertOptions, get

    converter = get(stage)
    monkeypatch.delenv("TF2ONNX_CATCH_ERRORS", raising=False)
    monkeypatch.delenv("PARITY_TF2ONNX_COPIES", raising=False)
    unset = keys.stage_key(converter, "input", ConvertOptions())
    monkeypatch.setenv("PARITY_NOT_READ_BY_TF2ONNX", "1")
    assert keys.stage_key(converter, "input", ConvertOptions()) == unset
    seen = {unset}
    for value in ("TRUE", "false"):
        monkeypatch.setenv("TF2ONNX_CATCH_ERRORS", value)
        seen.add(keys.stage_key(converter, "input", ConvertOptions()))
    monkeypatch.delenv("TF2ONNX_CATCH_ERRORS")
    monkeypatch.setenv("PARITY_TF2ONNX_COPIES", "1")
    seen.add(keys.stage_key(converter, "input", ConvertOptions()))
    assert len(seen) == 4


def test_a_stage_that_reads_no_tf2onnx_keeps_its_key_whatever_tf2onnx_is_told(monkeypatch):
    from harness.converters import ConvertOptions, get

    converter = get("onnx2torch")
    monkeypatch.delenv("TF2ONNX_CATCH_ERRORS", raising=False)
    unset = keys.stage_key(converter, "input", ConvertOptions())
    monkeypatch.setenv("TF2ONNX_CATCH_ERRORS", "TRUE")
    assert keys.stage_key(converter, "input", ConvertOptions()) == unset


def test_the_run_record_says_what_tf2onnx_was_told(monkeypatch):
    from harness.results import run_record

    def environment() -> dict:
        return run_record(run_id="r", shard="main", device="cpu", opset=17, paths=[],
                          hypothesis=None, command="pytest")["environment"]

    monkeypatch.delenv("TF2ONNX_CATCH_ERRORS", raising=False)
    monkeypatch.delenv("PARITY_TF2ONNX_COPIES", raising=False)
    assert environment()["TF2ONNX_CATCH_ERRORS"] is None
    assert environment()["PARITY_TF2ONNX_COPIES"] is None
    monkeypatch.setenv("TF2ONNX_CATCH_ERRORS", "TRUE")
    monkeypatch.setenv("PARITY_TF2ONNX_COPIES", "1")
    assert environment()["TF2ONNX_CATCH_ERRORS"] == "TRUE"
    assert environment()["PARITY_TF2ONNX_COPIES"] == "1"


def test_a_new_onnx_converts_the_module_again(tmp_path, monkeypatch):
    run(tmp_path)
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnx=9.9")
    _, _, cache = run(tmp_path)
    assert cache.module_log == [("onnx2torch", "miss")]


KERAS_STAGES = "keras>keras-file>tf2onnx,keras>h5,keras>tf-keras"
DENSE = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=3)


def test_a_warm_keras_stage_builds_no_model_where_its_run_hits(tmp_path):
    """The .keras and .h5 files read back and the Keras-2 twin are not stored (no exact
    serialisation that loads without Keras), but their runs are: a warm run hands on models
    that were never built, so no TensorFlow is needed where every Keras leg hits."""
    pytest.importorskip("tf_keras")
    cold, _, cold_cache = run_cached(tmp_path, DENSE, KERAS_STAGES)
    assert {("run keras", "miss"), ("run tf_keras", "miss")} <= set(cold_cache.run_log)
    warm, artifacts, warm_cache = run_cached(tmp_path, DENSE, KERAS_STAGES)
    assert sorted(warm_cache.module_log) == [("h5", "hit"), ("keras-file", "hit"),
                                             ("tf-keras", "hit")]
    assert {outcome for _, outcome in warm_cache.run_log} == {"hit"}
    for leg in ("keras>keras-file", "keras>h5", "keras>tf-keras"):
        assert isinstance(artifacts[leg], LazyArtifact) and "not built" in repr(artifacts[leg])
    assert verdicts(warm) == verdicts(cold)
    assert {leg.verdict for leg in warm.legs} == {"pass"}


def test_a_changed_keras_backend_misses_a_keras_run(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    run_cached(tmp_path, DENSE, "keras>keras-file")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # named now, where it was not: another key
    _, _, cache = run_cached(tmp_path, DENSE, "keras>keras-file")
    assert cache.run_log == [("run keras", "miss")]
