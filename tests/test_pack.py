"""Packing Keras covering cases into one converted model (harness/sources/keras/pack.py,
harness/run/packed.py): each branch computes what its case's own model computes, and a case
that does not pass packed gets exactly its unpacked run's verdicts."""

import json
from pathlib import Path

import numpy as np
import pytest

from harness.core.spec import LayerSpec
from harness.run.packed import run_pack, run_packed
from harness.run.pipeline import Harness
from harness.runtimes.keras import run_keras
from harness.sources.keras.pack import pack, pack_key, why_unpackable

pytest.importorskip("tensorflow", reason="packing builds Keras models")
pytest.importorskip("tf2onnx", reason="the packed model is converted with tf2onnx")

COVER = Path(__file__).parents[1] / "suites" / "layers" / "cover.json"
# float64 covering cases (suites/layers/cover.json): three that pass on every leg of the
# default paths, and two that a known issue's message recognises, not their layer, so
# that they go into the pack and fail there (onnx2torch and onnxruntime refuse them).
PASSING = ("89a5d6e5edae9ba9", "927f934daa1e1c7a", "014feb69b16bf063")
FAILING = ("16d711ee985046d2", "6672b3ace5637905")


def cover_specs(ids) -> list[LayerSpec]:
    entries = json.loads(COVER.read_text(encoding="utf-8"))["cases"]
    by_id = {spec.case_id: spec for spec in (LayerSpec.from_json(e["spec"]) for e in entries)}
    return [by_id[case_id] for case_id in ids]


def verdicts(result) -> list[tuple[str, str]]:
    return [(leg.leg, leg.verdict) for leg in result.legs]


def test_each_branch_computes_its_own_case_bit_for_bit():
    specs = cover_specs(PASSING + FAILING)
    assert all(why_unpackable(spec) is None for spec in specs)
    assert len({pack_key(spec) for spec in specs}) == 1
    readings = [Harness().read_source(spec) for spec in specs]
    packed = pack(specs, [reading.artifact.model for reading in readings])
    assert len(packed.model.inputs) == len(specs)
    branches = packed.split(run_keras(packed.model, [r.inputs[0] for r in readings]))
    for spec, reading, outputs in zip(specs, readings, branches):
        own = run_keras(reading.artifact.model, reading.inputs)
        assert len(outputs) == len(own), spec.describe()
        for got, expected in zip(outputs, own):
            assert got.dtype == expected.dtype and np.array_equal(got, expected), spec.describe()


def test_a_case_that_fails_packed_runs_alone_and_keeps_its_unpacked_verdicts():
    specs = cover_specs(PASSING + FAILING)
    harness = Harness()
    alone = []

    def run(spec):
        alone.append(spec.case_id)
        return harness.run(spec)

    packed = run_packed(harness, specs, run=run)
    assert sorted(alone) == sorted(FAILING)
    for spec, result in zip(specs, packed):
        own = harness.run(spec)
        assert verdicts(result) == verdicts(own), spec.describe()
        if spec.case_id in PASSING:
            assert all(leg.verdict == "pass" and leg.note.startswith("packed:")
                       for leg in result.legs)
            for got, expected in zip(result.legs, own.legs):
                assert got.tolerance == expected.tolerance
        else:
            assert any(leg.verdict == "xfail" for leg in result.legs)
            assert [leg.known_issue for leg in result.legs] == \
                [leg.known_issue for leg in own.legs]


def test_cases_that_do_not_pack_run_alone():
    entries = json.loads(COVER.read_text(encoding="utf-8"))["cases"]
    specs = [LayerSpec.from_json(e["spec"]) for e in entries]
    several = next(s for s in specs if len(s.input_shapes) > 1)
    assert "inputs" in why_unpackable(several)
    with pytest.raises(ValueError, match="does not pack"):
        pack([several], [None])
    float16 = next(s for s in specs if s.dtype == "float16" and why_unpackable(s) is None)
    float64 = next(s for s in specs if s.dtype == "float64" and why_unpackable(s) is None)
    with pytest.raises(ValueError, match="do not pack"):
        pack([float16, float64], [None, None])


def test_a_branch_off_its_reference_is_not_taken_from_the_pack():
    """A branch whose outputs miss its own case's reference fails packed (and so runs
    alone), while the branches beside it pass: each is judged against its own reading."""
    specs = cover_specs(PASSING)
    harness = Harness()
    readings = [harness.read_source(spec) for spec in specs]
    off = [np.asarray(y) + np.float64(0.5) for y in readings[1].reference]
    readings[1] = readings[1]._replace(reference=off)
    results = run_pack(harness, specs, readings)
    assert results[1] is None
    for result in (results[0], results[2]):
        assert result is not None and [leg.verdict for leg in result.legs] == ["pass"] * 3
