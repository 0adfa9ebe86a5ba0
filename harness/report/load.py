"""Reading and merging results JSONL shards (see docs/results.md).

A results file is any concatenation of shards, and a shard can end in a half-written line
when its worker was killed, so a bad line is recorded with its file and line number and
skipped: one broken worker must not hide the results of every other.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("fail", "error", "xpass", "xfail", "skip", "pass")
"""Every verdict, worst first: the order in which the report lists cases."""

BAD_VERDICTS = frozenset({"fail", "error", "xpass"})
"""Verdicts that make the overall verdict FAIL. An xpass means a known upstream bug no longer
reproduces: the known-issue entry is stale and must be removed, as with pytest's strict xfail."""

RUN_SCHEMA = "parity.run/1"
RESULT_SCHEMA = "parity.result/1"
_REQUIRED_RESULT_FIELDS = ("case_id", "kind", "leg", "verdict")


@dataclass(frozen=True)
class LoadProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Results:
    """Every run and result record of the files read, in the order read."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    # A process' last record where its cases ran in isolating workers (results.run_end_record)
    run_ends: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.results)

    def contexts_lost(self) -> Counter[str]:
        """The device contexts the run's workers lost, by label, over every shard."""
        lost: Counter[str] = Counter()
        for end in self.run_ends:
            contexts = end.get("contexts_lost")
            if isinstance(contexts, dict):
                lost.update({str(k): v for k, v in contexts.items() if isinstance(v, int)})
        return lost

    def verdict_counts(self) -> Counter[str]:
        return Counter(r["verdict"] for r in self.results)

    def overall_verdict(self) -> str:
        """FAIL when any result failed, errored or unexpectedly passed; INCOMPLETE when
        nothing failed but lines could not be read or there is no result at all (a gate
        must not pass on data it could not see); PASS otherwise."""
        counts = self.verdict_counts()
        if any(counts[v] for v in BAD_VERDICTS):
            return "FAIL"
        if self.problems or not self.results:
            return "INCOMPLETE"
        return "PASS"


def _schema_major(schema: Any) -> str | None:
    if not isinstance(schema, str) or "/" not in schema:
        return None
    return schema.rsplit("/", 1)[0]


def _check_result(record: dict[str, Any]) -> str | None:
    missing = [f for f in _REQUIRED_RESULT_FIELDS if not isinstance(record.get(f), str)]
    if missing:
        return f"result record without {', '.join(missing)}"
    if record["verdict"] not in VERDICTS:
        return f"unknown verdict {record['verdict']!r}"
    return None


def _parse_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(record, dict):
        return None, f"a JSON {type(record).__name__}, not an object"
    kind = record.get("record")
    if kind in ("run", "run_end"):
        if _schema_major(record.get("schema")) not in (None, "parity.run"):
            return None, f"run record with schema {record.get('schema')!r}"
        return record, None
    if kind == "result":
        if _schema_major(record.get("schema")) not in (None, "parity.result"):
            return None, f"result record with schema {record.get('schema')!r}"
        problem = _check_result(record)
        return (None, problem) if problem else (record, None)
    return None, f"unknown record type {kind!r}"


def load_results(paths: Iterable[str | os.PathLike[str]]) -> Results:
    """Merge every record of every file; identical lines read twice count once.

    Reading the same shard twice (a glob that matches a merged file and its parts) must not
    double the counts, so a line identical to one already read is dropped and counted in
    `duplicates`. Distinct records of the same case and leg are all kept: they
    come from different runs, devices or shards and the report shows each.
    """
    loaded = Results()
    seen: set[bytes] = set()
    with collector_paused():
        for path in paths:
            name = os.fspath(path)
            loaded.sources.append(name)
            try:
                with open(name, encoding="utf-8", errors="replace") as handle:
                    _read(handle, name, loaded, seen)
            except OSError as exc:
                loaded.problems.append(LoadProblem(name, 0, f"cannot read: {exc.strerror or exc}"))
    _stamp_stacks(loaded)
    return loaded


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector. Reading results makes millions of dicts and
    lists that all stay alive, and every collection on the way (and while a report is made
    from them) walks each of them: the main job's 70 MB results file read in 1.1 s of CPU
    with the collector paused, 2.9 s without. Records hold no cycles: reference counting
    frees what a report drops."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stamp_stacks(loaded: Results) -> None:
    """A merged matrix run (``tox -e floor,ci`` then one report of both): each result
    record gets its run's ``stack`` (the tox environment), so that the tables show a column
    per stack; a report of one stack is left as it is."""
    stacks = {run.get("run_id"): run.get("stack") for run in loaded.runs if run.get("stack")}
    if len(set(stacks.values())) < 2:
        return
    for record in loaded.results:
        record["stack"] = stacks.get(record.get("run_id"))


def _read(lines: Iterable[str], name: str, loaded: Results, seen: set[bytes]) -> None:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record, problem = _parse_line(line)
        if record is None:
            loaded.problems.append(LoadProblem(name, number, problem or "unreadable"))
            continue
        # The same shard read twice repeats its lines byte for byte.
        key = hashlib.blake2b(line.strip().encode("utf-8", "replace"), digest_size=16).digest()
        if key in seen:
            loaded.duplicates += 1
            continue
        seen.add(key)
        if record["record"] == "run":
            loaded.runs.append(record)
        elif record["record"] == "run_end":
            loaded.run_ends.append(record)
        else:
            loaded.results.append(record)
