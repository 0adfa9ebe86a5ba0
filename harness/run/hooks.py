"""The seams of a run: what ``Harness`` shows those who watch a case go through it
(``parity check``'s watch, the isolated worker's progress messages), so that they observe
the run instead of wrapping its sources and runners.

An observer is an ``Observer`` that overrides the methods it needs (the others do nothing);
the pipeline calls each observer's in the order the observers were given:

- ``on_case(case)``: the case is resolved to its paths (``case.paths``), before its source
  is read or its stored artifacts replayed;
- ``on_reading(case, reading)``: the source was read (a run; a replay reads nothing);
- ``on_paths(case, artifacts, inputs, reference, alternate)``: the case (run or replayed)
  goes down its paths, at its first size; ``artifacts`` fills in leg by leg, keyed by leg;
- ``before_leg(leg, stage, step)``: before a leg's conversion (``"convert"``) and before
  its runs (``"run"``);
- ``on_outputs(leg, size, outputs)``: what the leg's runner returned at one size
  (``harness.run.pipeline.Size``), before it is compared;
- ``after_leg(leg, stage, result)``: the leg judged, with its ``LegResult``.
"""

from __future__ import annotations

from typing import Any


class Observer:
    """Watches a run and does nothing: subclass it and override what you watch."""

    def on_case(self, case) -> None:
        pass

    def on_reading(self, case, reading) -> None:
        pass

    def on_paths(self, case, artifacts: dict[str, Any], inputs, reference, alternate) -> None:
        pass

    def before_leg(self, leg: str, stage: str, step: str) -> None:
        pass

    def on_outputs(self, leg: str, size, outputs) -> None:
        pass

    def after_leg(self, leg: str, stage: str, result) -> None:
        pass


class Callbacks(Observer):
    """``Harness``' ``on_leg`` and ``on_paths`` callables as an observer: ``on_leg(leg,
    stage, step, result=None)`` before each conversion (``"convert"``) and run (``"run"``)
    and once the leg is judged (``"done"``, with its result); ``on_paths`` as
    ``Observer.on_paths``."""

    def __init__(self, on_leg=None, on_paths=None):
        self.on_leg = on_leg
        self.paths = on_paths

    def on_paths(self, case, artifacts, inputs, reference, alternate) -> None:
        if self.paths is not None:
            self.paths(case, artifacts, inputs, reference, alternate)

    def before_leg(self, leg: str, stage: str, step: str) -> None:
        if self.on_leg is not None:
            self.on_leg(leg, stage, step)

    def after_leg(self, leg: str, stage: str, result) -> None:
        if self.on_leg is not None:
            self.on_leg(leg, stage, "done", result)
