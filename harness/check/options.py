"""What ``parity check`` is asked (``CheckOptions``), what it finds (``CheckOutcome``) and
the error for a user's mistake (``CheckError``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.results import jsonable

DEFAULT_PIN_LIMIT_MB = 32.0

SCHEMA = "parity.check/1"  # the --json document's schema


class CheckError(Exception):
    """A user's mistake or a file parity cannot check: one line, exit status 2."""



class CannotCheckHere(CheckError):
    """This machine cannot check the model, though it is readable and the options right: the
    source framework refuses it here (TensorFlow without oneDNN and a layout it has no CPU
    kernel for): ``parity check`` exits 3."""

@dataclass
class CheckOptions:
    model: str
    weights: str | None = None
    inputs: str | None = None
    scale: float = 1 / 255
    mean: str | None = None
    std: str | None = None
    layout: str | None = None
    limit: int = 16
    paths: str | None = None
    report: str | None = "reports"  # None: no reports written
    pin: str | None = None
    golden: str | None = None
    pin_limit_mb: float = DEFAULT_PIN_LIMIT_MB
    script: str | None = None
    max_inline_mb: float = 2.0
    plugins: list[str] = field(default_factory=list)
    # MODULE:NAME specs of dicts of Keras custom objects, as load_model(custom_objects=) takes
    custom_objects: list[str] = field(default_factory=list)
    seed: int = 0
    device: str = "cpu"
    opset: int | None = None
    atol: float | None = None
    rtol: float | None = None
    diagnose: bool = True
    command: str | None = None
    # The stages after a converted PyTorch module (harness.run.torch_end): None for none,
    # "check" for torch_end.CHECK_STAGES, "all" or a comma-separated list.
    torch_end: str | None = None
    outputs: list[str] | None = None  # a .mat network's outputs to check (--output)
    # The largest input parity draws, in MB (--max-input-mb; None: the file source's own).
    max_input_mb: float | None = None
    signature: str | None = None  # a SavedModel's signature to check (--signature)


@dataclass
class CheckOutcome:
    model: str
    kind: str
    start: str
    description: str
    notes: list[str]
    sizes: list[list[list[int]]]
    cases: list[Any]  # CaseResult per size
    rows: list[Any]  # verdicts.LegRow
    exit_code: int
    reports: list[str] = field(default_factory=list)
    pinned: dict[str, Any] | None = None
    script: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Where agreement proves little (harness.check.strength.Finding): weak and warning lines.
    strength: list[Any] = field(default_factory=list)
    # Every output of the reference is NaN throughout: the legs' agreement proves nothing.
    proves_nothing: bool = False

    def to_json(self) -> dict[str, Any]:
        return jsonable({
            "schema": SCHEMA,
            "model": self.model,
            "format": self.kind,
            "reads_to": self.start,
            "description": self.description,
            "notes": self.notes,
            "case_ids": [case.spec.case_id for case in self.cases],
            "sizes": self.sizes,
            "legs": [row.to_json() for row in self.rows],
            "agrees": self.exit_code == 0,
            "exit_code": self.exit_code,
            "reports": self.reports,
            "pinned": self.pinned,
            "script": self.script,
            "problems": self.problems,
            "strength": [finding.to_json() for finding in self.strength],
            "proves_nothing": self.proves_nothing,
            "seconds": round(self.seconds, 3),
        })
