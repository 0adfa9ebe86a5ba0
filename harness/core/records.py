"""A case's result records: one ``LegResult`` per leg, gathered in a ``CaseResult``.

The pipeline (harness.run.pipeline) makes them; results, the report, the golden store and
``parity check`` read them. They live in the core so that none of those imports the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.core.compare import Tolerance
from harness.core.spec import LayerSpec, canonical_json
from harness.core.taxonomy import FAILING


@dataclass
class LegResult:
    path: str
    leg: str
    stage: str
    runner: str
    verdict: str  # pass, fail, error, xfail, xpass, skip
    category: str | None = None
    message: str = ""
    metrics: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    tolerance: Tolerance | None = None
    timing: dict[str, float] = field(default_factory=dict)
    known_issue: dict[str, str] | None = None
    # The stage where the divergence entered the path: this leg's own stage, or the stage of
    # the earliest leg upstream that already diverged from the source.
    blame: str | None = None
    note: str = ""
    # For a failing multi-layer case: the first diverging layer, the error growth layer by
    # layer and the layer re-run alone (harness.core.diagnose).
    diagnosis: dict[str, Any] | None = None
    # The device context this leg's fault made unusable ("CUDA": a device-side assert), so
    # that its worker was ended (harness.runtimes.device); None for every other leg.
    context_lost: str | None = None


@dataclass
class CaseResult:
    spec: LayerSpec
    legs: list[LegResult]
    timing: dict[str, float]

    @property
    def failures(self) -> list[LegResult]:
        # An xpass fails too, as a strict xfail does: the known-issue entry is stale.
        return [leg for leg in self.legs if leg.verdict in (*FAILING, "xpass")]

    def failure_message(self) -> str:
        lines = [f"parity: {len(self.failures)} leg(s) failed for case {self.spec.case_id}"]
        for leg in self.failures:
            lines.append("")
            blame = "" if leg.blame in (None, leg.stage) else f"; diverged at stage {leg.blame}"
            lines.append(
                f"leg {leg.leg} (stage {leg.stage}, runner {leg.runner}{blame}): {leg.category}"
            )
            if leg.verdict == "xpass":
                lines.append(f"known issue {leg.known_issue['id']} no longer reproduces here: "
                             f"narrow or remove its entry in harness/known_issues.toml "
                             f"({leg.known_issue['url']})")
            else:
                lines.append(leg.message)
            if leg.diagnosis and leg.diagnosis.get("summary"):
                lines.append(f"per layer: {leg.diagnosis['summary']}")
        lines.append("")
        lines.append(f"case: {self.spec.describe()}")
        lines.append(f"spec: {canonical_json(self.spec.to_json())}")
        lines.append(f"reproduce: parity repro {self.spec.case_id}")
        return "\n".join(lines)

    def check(self) -> None:
        if self.failures:
            raise ParityFailure(self.failure_message())


class ParityFailure(AssertionError):
    pass
