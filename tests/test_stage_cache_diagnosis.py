"""The stage cache keeps a rewriter's own diagnosis of a failing leg (which pass broke the
model): a warm run reads it back instead of rewriting and running the model once a pass
again, and it is the diagnosis a run without the cache makes; a new release of the stage,
another tolerance or a damaged entry diagnoses again.

Real parts: the golden store's PadConv case, whose onnxslim leg is a known issue that
onnxslim's leave-one-out diagnosis names (FusionPadConv), replayed with onnxruntime.
"""

from __future__ import annotations

import json

import pytest

from harness import golden
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys, packages
from harness.run.stage_cache.cache import CacheMismatch, CacheWarning, StageCache

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

CASE = "168813b6c4f3a891"  # PadConv; its onnx>onnxslim leg: FusionPadConv's known issue
LEG = "onnx>onnxslim"


def replay(cache=None):
    """The case's onnxslim leg's diagnosis, replayed by a harness on ``cache`` (a new run:
    the package fingerprints forgotten, as a new process would)."""
    packages.installed_fingerprint.cache_clear()
    store = golden.read_manifest(golden.default_root())
    if CASE not in store.cases:
        pytest.skip(f"golden case {CASE} is not in this store")
    result = golden.load_case(store, CASE).replay(Harness(threads=1, cache=cache))
    leg = next(leg for leg in result.legs if leg.leg == LEG)
    return leg.diagnosis


def test_a_warm_run_reads_the_diagnosis_a_run_without_the_cache_makes(tmp_path):
    uncached = replay()
    assert "FusionPadConv" in uncached["passes"]
    cold_cache = StageCache(tmp_path)
    assert replay(cold_cache) == uncached
    assert cold_cache.diagnosis_log == [("onnxslim", "miss")]
    warm_cache = StageCache(tmp_path)
    assert replay(warm_cache) == uncached
    assert warm_cache.diagnosis_log == [("onnxslim", "hit")]
    # --parity-cache-verify diagnoses a sampled hit again and finds it the same
    verified = StageCache(tmp_path, verify=1.0)
    assert replay(verified) == uncached
    assert ("diagnosis onnxslim", "same") in verified.verify_log


def test_a_new_release_of_the_stage_diagnoses_again(tmp_path, monkeypatch):
    replay(StageCache(tmp_path))
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnxslim=9.9")
    cache = StageCache(tmp_path)
    replay(cache)
    assert cache.diagnosis_log == [("onnxslim", "miss")]
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnxruntime=9.9")  # what it judges the passes by
    cache = StageCache(tmp_path)
    replay(cache)
    assert cache.diagnosis_log == [("onnxslim", "miss")]


def test_a_damaged_or_contradicted_diagnosis_is_not_served(tmp_path):
    uncached = replay()
    replay(StageCache(tmp_path))
    entries = [path for path in (tmp_path / "v1" / "entries").glob("*/*.json")
               if json.loads(path.read_text())["kind"] == "diagnosis"]
    assert len(entries) == 1
    entry = json.loads(entries[0].read_text())
    entries[0].write_text(json.dumps({**entry, "diagnosis": {"neither": 1}}))
    cache = StageCache(tmp_path)
    with pytest.warns(CacheWarning, match="damaged"):
        assert replay(cache) == uncached
    assert cache.diagnosis_log == [("onnxslim", "miss")]
    # an entry that parses but says another pass: verifying it removes it and says so
    entry = json.loads(entries[0].read_text())
    wrong = {**entry, "diagnosis": {"dict": {**entry["diagnosis"]["dict"], "how": "none"}}}
    entries[0].write_text(json.dumps(wrong))
    with pytest.raises(CacheMismatch, match="diagnosis onnxslim"):
        replay(StageCache(tmp_path, verify=1.0))
    assert not entries[0].exists()
