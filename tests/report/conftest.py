from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from harness.report import load_results, write_html
from harness.report.data import read_page_data
from harness.report.load import VERDICTS

from .synthetic import ci_domains, ci_records, make_records, write_jsonl

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


# ---------------------------------------------------------------- reading the page's data


def data_of(page: str) -> dict:
    """The page's data block, unpacked."""
    return read_page_data(page)


def named(row: list, fields: list[str]) -> dict[str, Any]:
    return {name: value for name, value in zip(fields, row) if value is not None}


def decode_case(row: list, data: dict) -> dict[str, Any]:
    """What the page's script does with a case (static/report.js, decodeCase)."""
    case = named(row, data["fields"]["case"])
    kind, family, source = (data["strings"][i] for i in data["kinds"][case.pop("kind")])
    case.update(kind=kind, family=family, source=source)
    codes = case["verdicts"] if "legs" not in case else [leg[1] for leg in case["legs"]]
    verdicts = sorted({data["verdicts"][c] for c in codes}, key=VERDICTS.index)
    case.update(verdicts=verdicts, worst=verdicts[0])
    return case


def decode_leg(row: list, data: dict) -> dict[str, Any]:
    """What the page's script does with a leg (static/report.js, decodeLeg)."""
    leg = named(row, data["fields"]["leg"])
    leg.update(data["objects"][leg.pop("where")])
    leg["verdict"] = data["verdicts"][leg["verdict"]]
    if "metrics" in leg:
        leg["metrics"] = named(leg["metrics"], data["fields"]["metrics"])
    return leg


def cases_of(data: dict) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in (decode_case(row, data) for row in data["case_list"])}


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
    """A ci-sized run of every source (about 12,000 results); do not modify."""
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
               domains=ci_domains())
    return directory / "parity.html"
