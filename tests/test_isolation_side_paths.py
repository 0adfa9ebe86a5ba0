"""``--parity-isolate`` and the side paths (issue #36): a TFLite leg runs in the isolated worker
and its record comes back as the in-process one; the flatbuffer the worker converted is the
one its stage cache keeps, which an in-process run then hits; a golden case's stored
flatbuffers and rewriter legs replay in the worker as in process."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow: DESIGN.md hazards)

from harness import golden
from harness.core.spec import LayerSpec
from harness.run import side_paths
from harness.run.isolation import IsolatedHarness
from harness.run.pipeline import Harness
from harness.run.stage_cache.cache import StageCache
from tests.cache_runs import fresh_process

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("onnxruntime")

DENSE = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")
LEGS = ["keras>tflite", "keras>savedmodel>tflite-savedmodel"]


def records(result) -> list[dict]:
    """Each leg's record but its timing."""
    return [{k: v for k, v in dataclasses.asdict(leg).items() if k != "timing"}
            for leg in result.legs]


def test_a_tflite_leg_runs_in_the_worker_and_comes_back_the_same(tmp_path):
    extension = side_paths.SidePaths(side_paths.KERAS)
    worker = IsolatedHarness("keras>tf2onnx", timeout=300, cache=tmp_path,
                             extension=extension)
    try:
        there = worker.run(DENSE)
    finally:
        worker.close()
    here = Harness("keras>tf2onnx", extension=extension).run(DENSE)
    assert {leg.leg for leg in there.legs} == {"keras>tf2onnx", "keras>savedmodel", *LEGS}
    assert records(there) == records(here)
    assert {leg.verdict for leg in there.legs} == {"pass"}
    # The worker kept its flatbuffers; an in-process run on the same folder hits them.
    fresh_process()
    cache = StageCache(tmp_path)
    made: dict = {}
    again = Harness(",".join(LEGS), cache=cache, known_issues=[],
                    on_paths=lambda case, artifacts, *rest: made.setdefault("warm", artifacts)
                    ).run(DENSE)
    assert ("tflite", "hit") in cache.log and ("tflite-savedmodel", "hit") in cache.log
    cold = Harness(",".join(LEGS), known_issues=[],
                   on_paths=lambda case, artifacts, *rest: made.setdefault("cold", artifacts)
                   ).run(DENSE)
    assert records(again) == records(cold)
    for leg in LEGS:
        assert made["warm"][leg].model == bytes(made["cold"][leg].model)
        assert made["warm"][leg].meta == made["cold"][leg].meta


def test_a_golden_case_with_side_paths_replays_in_the_worker_as_in_process(tmp_path):
    from harness.golden.update import update

    root = tmp_path / "golden"
    assert update(root, [DENSE, ADD], side_paths=side_paths.ALL).written
    store = golden.read_manifest(root)
    assert json.loads((root / "cases" / DENSE.case_id / "side_paths.json").read_text())["legs"]
    worker = IsolatedHarness(None, timeout=300)
    try:
        for spec in (DENSE, ADD):
            case = golden.load_case(store, spec.case_id)
            there = worker.replay(case.spec, case)
            here = case.replay(Harness())
            assert records(there) == records(here)
            expected = LEGS if spec is DENSE else list(side_paths.ONNX)
            assert {leg.leg: leg.verdict for leg in there.legs if leg.leg in expected} == \
                dict.fromkeys(expected, "pass")
    finally:
        worker.close()
    shutil.rmtree(root)
