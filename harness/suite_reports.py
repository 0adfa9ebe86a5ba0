"""The suite's reports from its result shards: results.jsonl (the last run kept as
results.previous.jsonl for the trend), parity.html and junit.xml.

Both front ends that run cases write them, the pytest plugin at the session's end and
``parity check`` beside its verdicts; they sit here, below both, so no front end imports
another's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness import sources
from harness.core import registry
from harness.report import load_results, write_html, write_junit
from harness.report.coverage import kind_label
from harness.report.load import collector_paused


def attribute_domains() -> dict:
    """Every drawn source's kinds and their documented attribute values, for the report's
    coverage (labelled as it labels them)."""

    domains = {}
    for source in sources.available():
        if source == "file":  # a user's file has no drawn attributes
            continue
        try:
            kinds = registry.kinds(source)
        except Exception:  # noqa: BLE001  (a source whose packages are missing: no coverage)
            continue
        domains.update({kind_label(k.name, source): k.attribute_domains for k in kinds})
    return domains


def write_reports(report_dir: Path, shards: list[Path], command: str | None = None) -> list[Path]:
    """Merges shards into results.jsonl (keeping the last run as results.previous.jsonl for
    the trend) and writes parity.html and junit.xml from it."""

    with collector_paused():
        return _write_reports(report_dir, shards, command)


def _write_reports(report_dir: Path, shards: list[Path], command: str | None) -> list[Path]:
    results_path = report_dir / "results.jsonl"
    previous = report_dir / "results.previous.jsonl"
    merged = report_dir / ".results.jsonl.tmp"
    with open(merged, "wb") as out:
        for shard in shards:
            with open(shard, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    if results_path.exists():
        os.replace(results_path, previous)
    os.replace(merged, results_path)

    results = load_results([results_path])
    write_html(results, report_dir / "parity.html",
               previous=load_results([previous]) if previous.exists() else None,
               command=command, domains=attribute_domains())
    write_junit(results, report_dir / "junit.xml")
    return [results_path, report_dir / "parity.html", report_dir / "junit.xml"]
