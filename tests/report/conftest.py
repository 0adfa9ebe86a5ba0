from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from .synthetic import make_records, write_jsonl

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
