"""Result records (see docs/results.md) and the JSONL files they live in.

Each process appends to its own shard and flushes every line, so a worker that dies leaves
complete lines behind; the report merges any number of shards.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import socket
import uuid
from pathlib import Path
from typing import Any

from harness import sources
from harness.core.frameworks import RECORDED_ENVIRONMENT, versions
from harness.core.machine import cpu_model
from harness.core.records import CaseResult, LegResult
from harness.core.registry import family_of
from harness.core.stages import left_out_stages

RUN_SCHEMA = "parity.run/1"
RESULT_SCHEMA = "parity.result/1"


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]




def gpu_model() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def run_record(*, run_id: str, shard: str, device: str, opset: int, paths: list[str],
               hypothesis: dict[str, Any] | None, command: str,
               identities: dict[str, Any] | None = None,
               precision: str | None = None) -> dict[str, Any]:
    """The run's record; ``identities`` names parity's release, the golden store and the
    known-issue set it judged by (harness.gate.identity)."""
    return {
        "record": "run",
        "schema": RUN_SCHEMA,
        "run_id": run_id,
        "shard": shard,
        "started": now(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "gpu": gpu_model() if device == "cuda" else None,
        "device": device,
        "versions": versions(),
        "environment": {k: os.environ.get(k) for k in RECORDED_ENVIRONMENT},
        # what the legs ran at: TF32, reduced-precision reductions, cuDNN autotuning
        # (harness.runtimes.device.describe)
        "precision": precision,
        "opset": opset,
        "paths": paths,
        "hypothesis": hypothesis,
        "command": command,
        # The stages left out of this run because a package is not installed, each naming
        # what to install (the report's environment lists them).
        "left_out": left_out_stages(),
        # The stack the run was on, where a matrix names it (the tox environment; or
        # PARITY_STACK): a merged report shows a column per stack.
        "stack": os.environ.get("PARITY_STACK") or os.environ.get("TOX_ENV_NAME"),
        **({"identities": identities} if identities is not None else {}),
    }


def run_end_record(*, run_id: str, shard: str, contexts_lost: dict[str, int],
                   workers_started: int) -> dict[str, Any]:
    """A process' last record, where its cases ran in isolating workers: the device contexts
    its cases lost by label ({"CUDA": 2}: each ended its worker, the cases while Hypothesis
    shrank included) and the workers it started. The report sums them over the shards."""
    return {"record": "run_end", "schema": RUN_SCHEMA, "run_id": run_id, "shard": shard,
            "ended": now(), "contexts_lost": contexts_lost, "workers_started": workers_started}


def family(spec) -> str:
    """The report's family of a case: the source's own word where it has one (a MATLAB case
    adds its file format), else the family of the case's kind in its source (``model`` for a
    kind no longer registered)."""
    try:
        of_source = getattr(sources.get(spec.source), "family", None)
    except sources.UnknownSource:
        of_source = None
    if of_source is not None:
        return of_source(spec)
    return family_of(spec.kind, spec.source) or "model"


def result_records(case: CaseResult, *, run_id: str, shard: str, device: str, test: str | None,
                   hypothesis: dict[str, Any] | None,
                   golden: dict[str, Any] | None = None,
                   precision: str | None = None) -> list[dict[str, Any]]:
    spec = case.spec
    common = {
        "record": "result",
        "schema": RESULT_SCHEMA,
        "run_id": run_id,
        "shard": shard,
        "case_id": spec.case_id,
        "source": spec.source,
        "kind": spec.kind,
        "family": family(spec),
        "spec": spec.to_json(),
        "inputs": [{"shape": list(s), "dtype": spec.dtype} for s in spec.input_shapes],
        "device": device,
        "precision": precision,
        "test": test,
        "hypothesis": hypothesis,
        "repro": f"parity repro {spec.case_id}",
        "time": now(),
    }
    if golden is not None:
        common["golden"] = golden
    return [{**common, **_leg_fields(leg, case.timing)} for leg in case.legs]


TEST_KIND = "(test)"


def test_failure_record(*, test: str, phase: str, message: str, run_id: str, shard: str,
                        device: str) -> dict[str, Any]:
    """The record of a pytest test that failed without a failing case record of its own (a
    fixture, the harness itself, a test's own assertion), so that every failing test of a
    run is in its results and report. Its case id is the test's."""
    return {
        "record": "result", "schema": RESULT_SCHEMA, "run_id": run_id, "shard": shard,
        "case_id": "test-" + hashlib.sha256(test.encode()).hexdigest()[:12],
        "source": None, "kind": TEST_KIND, "family": None, "spec": None, "inputs": [],
        "device": device, "test": test, "hypothesis": None, "repro": f"pytest {test!r}",
        "time": now(), "path": None, "leg": f"pytest {phase}", "stage": "pytest",
        "blame": None, "note": None, "diagnosis": None, "runner": "pytest",
        "verdict": "error", "failure": {"category": "test_failure", "message": message},
        "known_issue": None, "metrics": None, "outputs": [], "tolerance": None, "timing": {},
    }


def _leg_fields(leg: LegResult, case_timing: dict[str, float]) -> dict[str, Any]:
    failure = None
    if leg.verdict not in ("pass", "xpass"):
        failure = {"category": leg.category, "message": leg.message}
        if leg.context_lost:  # the case whose fault ended its worker's device context
            failure["context_lost"] = leg.context_lost
    return {
        "path": leg.path,
        "leg": leg.leg,
        "stage": leg.stage,
        "blame": leg.blame,
        "note": leg.note or None,
        "diagnosis": leg.diagnosis,
        "runner": leg.runner,
        "verdict": leg.verdict,
        "failure": failure,
        "known_issue": leg.known_issue,
        "metrics": leg.metrics,
        "outputs": leg.outputs,
        "tolerance": leg.tolerance.to_json() if leg.tolerance else None,
        "timing": {**{k: round(v, 6) for k, v in case_timing.items()},
                   **{k: round(v, 6) for k, v in leg.timing.items()}},
    }


def jsonable(value: Any) -> Any:
    """Non-finite floats become the strings "inf", "-inf" and "nan" (JSON has no such numbers);
    e.g. ``required_rtol`` is infinite when an expected zero is missed by more than atol."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class ResultWriter:
    """Appends records to one JSONL shard, a line at a time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the run)

    def write(self, record: dict[str, Any]) -> None:
        try:  # most records hold no NaN or Inf: no walk through them in Python first
            line = json.dumps(record, allow_nan=False, default=str)
        except ValueError:
            line = json.dumps(jsonable(record), allow_nan=False, default=str)
        self._file.write(line + "\n")
        self._file.flush()

    def write_all(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def read_records(path: Path) -> list[dict[str, Any]]:
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records
