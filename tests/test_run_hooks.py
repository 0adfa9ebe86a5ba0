"""The pipeline's seams (harness.run.hooks): an observer sees a case's run (its reading, its
paths, each leg before and after, each run's outputs) without wrapping its sources or
runners; the old on_leg/on_paths callables are observers too."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.strategies import sample
from harness.run.hooks import Observer
from harness.run.pipeline import Harness

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

PATHS = "onnx>onnx2torch,onnx>ort-optimized"


class Log(Observer):
    """Every call, in order, with what it was given."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.outputs: dict[str, list] = {}

    def on_reading(self, case, reading):
        self.calls.append(("reading", case.spec.case_id, reading.artifact.format))

    def on_paths(self, case, artifacts, inputs, reference, alternate):
        self.calls.append(("paths", case.start, len(inputs), len(reference)))

    def before_leg(self, leg, stage, step):
        self.calls.append(("before", leg, stage, step))

    def on_outputs(self, leg, size, outputs):
        self.calls.append(("outputs", leg, size.shapes))
        self.outputs[leg] = outputs

    def after_leg(self, leg, stage, result):
        self.calls.append(("after", leg, stage, result.verdict))


@pytest.fixture(scope="module")
def spec():
    return sample("Relu", 1, source="onnx")[0]


def test_an_observer_sees_each_leg_converted_run_and_judged_in_order(spec):
    log = Log()
    case = Harness(PATHS, known_issues=[], observers=[log]).run(spec)
    shapes = tuple(tuple(s) for s in spec.input_shapes)
    expected = [("reading", spec.case_id, "onnx"), ("paths", "onnx", 1, 1)]
    for leg in ("onnx>onnx2torch", "onnx>ort-optimized"):
        stage = leg.split(">")[-1]
        expected += [("before", leg, stage, "convert"), ("before", leg, stage, "run"),
                     ("outputs", leg, shapes), ("after", leg, stage, "pass")]
    assert log.calls == expected
    assert [leg.verdict for leg in case.legs] == ["pass", "pass"]


def test_the_outputs_an_observer_sees_are_those_the_leg_was_judged_by(spec):
    log = Log()
    harness = Harness(PATHS, known_issues=[], observers=[log])
    case = harness.run(spec)
    reading = harness.read_source(spec)
    for leg in case.legs:
        (outputs,) = log.outputs[leg.leg]
        np.testing.assert_allclose(outputs, reading.reference[0], rtol=1e-6, atol=1e-6)
        # max_abs in the record is the distance of what the observer saw.
        assert leg.metrics["max_abs"] == pytest.approx(
            float(np.abs(outputs.astype(np.float64) - reading.reference[0]).max()), abs=1e-12)


def test_a_replay_reads_no_source_and_runs_only_what_was_stored(spec):
    first = Harness(PATHS, known_issues=[])
    reading = first.read_source(spec)
    log = Log()
    stored = {"onnx": reading.artifact}
    Harness("onnx>onnx2torch", known_issues=[], observers=[log]).replay(
        spec, reading.inputs, reading.reference, stored)
    assert [call[0] for call in log.calls] == ["paths", "before", "before", "outputs", "after"]


def test_the_callables_on_leg_and_on_paths_see_the_same_seams(spec):
    steps, seen = [], {}
    log = Log()
    Harness("onnx>onnx2torch", known_issues=[], observers=[log],
            on_leg=lambda leg, stage, step, result=None: steps.append(
                (leg, step, None if result is None else result.verdict)),
            on_paths=lambda case, artifacts, *rest: seen.update(artifacts=artifacts)).run(spec)
    assert steps == [("onnx>onnx2torch", "convert", None), ("onnx>onnx2torch", "run", None),
                     ("onnx>onnx2torch", "done", "pass")]
    # The artifacts dict fills in leg by leg: the converted module is there once the run ends.
    assert set(seen["artifacts"]) == {"onnx", "onnx>onnx2torch"}
    assert [call[0] for call in log.calls][-1] == "after"
