"""The harness ``parity check`` runs a case with: the suite's ``Harness``, watched.

``Watch`` observes the run (harness.run.hooks) and keeps what check needs beyond the legs'
results: each leg's artifact and outputs (for task-level agreement and the pitfalls), the
source's reading (the pin stores it; the source's own outputs count as its leg's), the
torch modules a stage returned in training mode, and progress lines. ``CheckHarness`` reads
them off its watch, so that verdicts, pitfalls and pin read them off the harness.
"""

from __future__ import annotations

import time
from typing import Any

from harness.converters import RETURNED_TRAINING, Artifact, training_modules
from harness.run.hooks import Observer
from harness.run.pipeline import Harness


class Watch(Observer):
    """What a check's run showed: artifacts and outputs by leg, the source's reading, the
    modules returned in training mode; and a progress line per step."""

    def __init__(self, progress=None):
        self.progress = progress
        self.artifacts: dict[str, Any] = {}
        self.outputs: dict[str, list] = {}
        # leg -> the submodules its stage returned in training mode (where any)
        self.training: dict[str, tuple[str, ...]] = {}
        self.reading = None  # the last SourceReading the case's source returned
        self.inputs = self.reference = self.native = None
        self.start_name: str | None = None
        self._started: dict[str, float] = {}

    def on_reading(self, case, reading) -> None:
        self.reading = reading
        self.native = reading.native

    def on_paths(self, case, artifacts, inputs, reference, alternate) -> None:
        self.artifacts, self.inputs, self.reference = artifacts, inputs, reference
        self.start_name = case.start
        if self.reading is None:  # a replay: its second reading comes as ``alternate``
            self.native = alternate

    def before_leg(self, leg: str, stage: str, step: str) -> None:
        if step == "convert":
            self._started[leg] = time.perf_counter()
            self._say(f"  {leg}: converting ({stage})")
        elif step == "run":
            self._started.setdefault(leg, time.perf_counter())
            returned = returned_training(self.artifacts.get(leg))
            if returned:
                self.training[leg] = returned

    def on_outputs(self, leg: str, size, outputs) -> None:
        self.outputs[leg] = outputs

    def after_leg(self, leg: str, stage: str, result) -> None:
        took = time.perf_counter() - self._started.pop(leg, time.perf_counter())
        metrics = (result.metrics or {}) if result is not None else {}
        detail = (f" (max_abs {metrics['max_abs']:.3g})"
                  if isinstance(metrics.get("max_abs"), float) else "")
        verdict = result.verdict if result is not None else "?"
        self._say(f"  {leg}: {verdict}{detail} [{took:.1f} s]")

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)


def _seen(name: str) -> property:
    return property(lambda self: getattr(self.watch, name),
                    doc=f"The watch's {name} (``Watch``).")


class CheckHarness(Harness):
    """``Harness`` with a ``Watch`` on its runs; what the watch saw reads as the harness'."""

    artifacts = _seen("artifacts")
    outputs = _seen("outputs")
    training = _seen("training")
    reading = _seen("reading")
    inputs = _seen("inputs")
    reference = _seen("reference")
    native = _seen("native")
    start_name = _seen("start_name")

    def __init__(self, paths, *, progress=None, **kwargs):
        self.progress = progress
        self.watch = Watch(progress)
        super().__init__(paths, observers=[self.watch], **kwargs)

    def again(self, paths) -> CheckHarness:
        """A harness for the same case's second sizes, sharing this one's runners."""
        other = CheckHarness(paths, progress=self.progress, device=self.device,
                             policy=self.policy, known_issues=self.known_issues,
                             threads=self.threads, diagnose=False)
        other.options = self.options
        other._runners = self._runners
        return other


def make_harness(paths, **kwargs) -> CheckHarness:
    return CheckHarness(paths, **kwargs)


def returned_training(artifact) -> tuple[str, ...]:
    """The submodules a torch leg's converter returned in training mode: as its stage
    recorded them before calling ``.eval()``, else (a stage that records nothing) as the
    module is before parity's runner calls ``.eval()``."""
    if not isinstance(artifact, Artifact) or artifact.format != "torch":
        return ()
    if RETURNED_TRAINING in artifact.meta:
        return tuple(artifact.meta[RETURNED_TRAINING])
    return training_modules(artifact.model) if hasattr(artifact.model, "named_modules") else ()
