"""The stage cache keeps TFLite flatbuffers (issue #36): a hit is the flatbuffer and the
metadata its stage made, and LiteRT runs it to the same outputs and records; a new
TensorFlow or ai-edge-litert (their fingerprints) misses; a damaged entry is a miss with a
warning, never a crash or another artifact.

Real TFLite conversions of a one-Dense Keras model down both routes; a new run is a new
``StageCache`` on the same folder with the package fingerprints forgotten (``run_cached``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401  (before anything imports TensorFlow: DESIGN.md hazards)

from harness.converters import Artifact, ConvertOptions
from harness.core.spec import LayerSpec
from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import CacheWarning, LazyArtifact, StageCache
from harness.runtimes import runner_for
from tests.cache_runs import fresh_process, run_cached, verdicts

pytest.importorskip("ai_edge_litert")
pytest.importorskip("tensorflow")

DENSE = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
TFLITE = "keras>tflite"
BOTH = "keras>tflite,keras>savedmodel>tflite-savedmodel"


def run(folder: Path, paths: str = TFLITE, **kwargs):
    return run_cached(folder, DENSE, paths, **kwargs)


def entries_of(folder: Path, stage: str) -> list[Path]:
    return [path for path in sorted((folder / "v1" / "entries").glob("*/*.json"))
            if json.loads(path.read_text()).get("stage") == stage]


def litert_outputs(artifact: Artifact, inputs) -> list[np.ndarray]:
    return runner_for("tflite", "cpu", 0).run(artifact, inputs)


def test_a_hit_is_the_same_flatbuffer_meta_and_records_down_both_routes(tmp_path):
    cold, cold_artifacts, cold_cache = run(tmp_path, BOTH)
    warm, warm_artifacts, warm_cache = run(tmp_path, BOTH)
    assert ("tflite", "miss") in cold_cache.log and ("tflite-savedmodel", "miss") in cold_cache.log
    assert warm_cache.log == [("reading keras", "hit"), ("tflite", "hit"),
                              ("tflite-savedmodel", "hit")]
    for leg in ("keras>tflite", "keras>savedmodel>tflite-savedmodel"):
        made, kept = cold_artifacts[leg], warm_artifacts[leg]
        assert isinstance(kept.model, bytes) and kept.model == bytes(made.model)
        assert (kept.format, kept.input_names, kept.meta) == (made.format, made.input_names,
                                                              made.meta)
        assert set(kept.meta) >= {"signature", "tflite_inputs", "tflite_outputs"}
        inputs = [np.random.default_rng(0).standard_normal((2, 4)).astype("float32")]
        for a, b in zip(litert_outputs(kept, inputs), litert_outputs(made, inputs)):
            np.testing.assert_array_equal(a, b)
    assert verdicts(warm) == verdicts(cold)
    assert {leg.verdict for leg in warm.legs} == {"pass"}


def test_a_tflite_hit_needs_no_keras_model(tmp_path):
    run(tmp_path)
    warm, artifacts, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "hit")]
    assert isinstance(artifacts["keras"], LazyArtifact) and "not built" in repr(artifacts["keras"])
    assert [leg.verdict for leg in warm.legs] == ["pass"]


def test_a_warm_savedmodel_leg_takes_tensorflow_s_run_and_makes_no_savedmodel(
        tmp_path, monkeypatch):
    cold, _, cold_cache = run(tmp_path, BOTH)
    assert ("savedmodel", "miss") in cold_cache.module_log
    assert ("run savedmodel", "miss") in cold_cache.run_log
    warm, artifacts, warm_cache = run(tmp_path, BOTH)
    assert warm_cache.module_log == [("savedmodel", "hit")]
    assert warm_cache.run_log == [("run savedmodel", "hit")]
    saved = artifacts["keras>savedmodel"]
    assert isinstance(saved, LazyArtifact) and "not built" in repr(saved)
    assert verdicts(warm) == verdicts(cold)
    monkeypatch.setenv(keys.OVERRIDE_ENV, "tensorflow=9.9")
    again, artifacts, cache = run(tmp_path, BOTH)
    assert ("run savedmodel", "miss") in cache.run_log
    assert "not built" not in repr(artifacts["keras>savedmodel"])  # made again to be run
    assert verdicts(again) == verdicts(cold)


@pytest.mark.parametrize("package", ["tensorflow", "ai-edge-litert"])
def test_a_changed_tensorflow_or_litert_misses(tmp_path, monkeypatch, package):
    cold, _, _ = run(tmp_path)
    monkeypatch.setenv(keys.OVERRIDE_ENV, f"{package}=9.9")
    again, _, cache = run(tmp_path)
    assert ("tflite", "miss") in cache.log
    assert verdicts(again) == verdicts(cold)
    monkeypatch.delenv(keys.OVERRIDE_ENV)
    _, _, cache = run(tmp_path)  # the first entry is still there for the first install
    assert cache.log == [("reading keras", "hit"), ("tflite", "hit")]


def test_the_stage_code_is_in_the_key(tmp_path, monkeypatch):
    run(tmp_path)
    real = keys.code_fingerprint

    def edited(obj):
        found = real(obj)
        return {**found, "file": "edited"} if getattr(obj, "name", "") == "tflite" else found

    monkeypatch.setattr(keys, "code_fingerprint", edited)
    _, _, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "miss")]


def _damage_blob(folder: Path, data: bytes) -> None:
    (entry,) = entries_of(folder, "tflite")
    blob = json.loads(entry.read_text())["blob"]
    (folder / "v1" / "blobs" / blob[:2] / blob).write_bytes(data)


def test_a_damaged_tflite_entry_is_a_miss_with_a_warning(tmp_path):
    cold, cold_artifacts, _ = run(tmp_path)
    flat = bytes(cold_artifacts[TFLITE].model)
    _damage_blob(tmp_path, flat[: len(flat) // 2])  # cut short: its hash no longer matches
    with pytest.warns(CacheWarning, match="does not match its hash"):
        warm, artifacts, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "miss")]
    assert artifacts[TFLITE].model == flat and verdicts(warm) == verdicts(cold)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # stored again, whole
        _, _, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "hit")]
    (entry,) = entries_of(tmp_path, "tflite")
    document = json.loads(entry.read_text())
    entry.write_text(json.dumps({**document, "meta": {"dict": 5}}))  # metadata that is not
    with pytest.warns(CacheWarning, match="damaged"):
        warm, _, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "miss")]
    assert verdicts(warm) == verdicts(cold)


def test_an_entry_naming_bytes_that_are_no_flatbuffer_is_a_miss(tmp_path):
    cold, _, _ = run(tmp_path)
    (entry,) = entries_of(tmp_path, "tflite")
    document = json.loads(entry.read_text())
    other = b"not a flatbuffer at all"
    cache = StageCache(tmp_path)
    digest = cache.store.blob_hash(other)
    cache.store.put("0" * 64, {"kind": "other"}, [other])  # a whole blob of other bytes
    entry.write_text(json.dumps({**document, "blob": digest}))
    with pytest.warns(CacheWarning, match="not a TFLite flatbuffer"):
        warm, _, cache = run(tmp_path)
    assert cache.log == [("reading keras", "hit"), ("tflite", "miss")]
    assert verdicts(warm) == verdicts(cold)


def test_a_verified_tflite_hit_is_the_same(tmp_path):
    run(tmp_path)
    fresh_process()
    cache = StageCache(tmp_path, verify=1.0)
    from harness.run.pipeline import Harness

    result = Harness(TFLITE, cache=cache, known_issues=[]).run(DENSE)
    assert ("tflite", "same") in cache.verify_log
    assert [leg.verdict for leg in result.legs] == ["pass"]


class _PermutingStage:
    """A stage that makes a ``tflite`` artifact with more metadata than the signature's (as
    an onnx2tf-tflite stage records its tensors' layout permutations), tuples included."""

    name = "tflite-perms"
    source = "onnx"
    target = "tflite"
    packages = ("ai-edge-litert",)

    def convert(self, artifact, options):
        raise AssertionError("not converted: stored by keep, found by lookup")


def test_any_metadata_a_tflite_artifact_carries_is_kept(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    parent = Artifact("onnx", helper.make_model(graph, ir_version=10), ["x"])
    onnx.checker.check_model(parent.model)
    meta = {"signature": "serving_default", "tflite_inputs": ["x"], "tflite_outputs": ["y"],
            "input_perms": [(0, 2, 3, 1)], "output_perms": ((0, 3, 1, 2),),
            "layout": {"x": "NHWC"}}
    flat = b"\x1c\x00\x00\x00TFL3" + bytes(range(40))
    made = Artifact("tflite", flat, ["x"], meta)
    stage, options = _PermutingStage(), ConvertOptions()
    first = StageCache(tmp_path)
    assert first.lookup(stage, parent, options) is None
    first.keep(stage, parent, options, made)
    fresh_process()
    again = StageCache(tmp_path)
    found = again.lookup(stage, parent, options)
    assert again.log == [("tflite-perms", "hit")]
    assert (found.format, found.model, found.input_names, found.meta) == (
        "tflite", flat, ["x"], meta)
    assert isinstance(found.meta["output_perms"], tuple)
    assert again.identity(found) == first.identity(made)  # what a later stage is keyed by
