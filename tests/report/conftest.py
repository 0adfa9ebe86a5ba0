from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.report import load_results, write_html

from .synthetic import ci_records, domains, make_records, write_jsonl

HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(1)></pre>\x00\x1b[31m&amp;"
"""Closes attributes and elements, opens a script, an event handler, NUL and an ANSI code."""

# Fields whose values the schema fixes; everything else is free text from somewhere else.
_FIXED = {"record", "schema", "verdict"}


def hostile(value: Any, key: str = "") -> Any:
    """The record with the payload appended to every free string, and to the keys of the
    mappings whose keys are free text (attribute names, package names)."""
    if isinstance(value, dict):
        free_keys = key in ("attrs", "versions")
        return {(k + HOSTILE if free_keys else k): hostile(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v, key) for v in value]
    if isinstance(value, str) and key not in _FIXED:
        return value + HOSTILE
    return value


@pytest.fixture(scope="session")
def small_records() -> list[dict[str, Any]]:
    return make_records(cases=40, seed=7)


@pytest.fixture
def records(small_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(small_records)


@pytest.fixture
def results_file(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    return write_jsonl(tmp_path / "results.jsonl", records)


@pytest.fixture(scope="session")
def ci_run() -> list[dict[str, Any]]:
    """A ci-sized run of every source (about 3,000 results); do not modify."""
    return ci_records(seed=0)


@pytest.fixture(scope="session")
def ci_previous() -> list[dict[str, Any]]:
    """The run before `ci_run`; do not modify."""
    return ci_records(seed=0, previous=True)


@pytest.fixture(scope="session")
def ci_report(tmp_path_factory: pytest.TempPathFactory, ci_run, ci_previous) -> Path:
    """The report of a ci-sized run of every source, against the run before it."""
    directory = tmp_path_factory.mktemp("ci")
    results = load_results([write_jsonl(directory / "results.jsonl", ci_run)])
    previous = load_results([write_jsonl(directory / "previous.jsonl", ci_previous)])
    command = f"parity report --previous {directory / 'previous.jsonl'} results.jsonl"
    write_html(results, directory / "parity.html", previous=previous, command=command,
               domains=domains())
    return directory / "parity.html"
