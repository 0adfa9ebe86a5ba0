"""Sources, their default paths, and the tables that count verdicts per group and leg.

A record names its source (`keras`, `onnx`, `mat`, or `file` for a user's file); records
written before sources existed have none and are Keras records. Each source gets its own
tables: its groups (layer families for Keras, op groups for ONNX, layer groups for MATLAB)
against its legs, the legs of its default path first, because a converter engineer reads
the default path before the saved-format and alternative legs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.report.summary import cell, failing, several_devices, worst

__all__ = ["failing", "several_devices", "worst"]

SOURCE_ORDER = ("keras", "mat", "onnx", "file")
SOURCE_LABELS = {"keras": "Keras", "mat": "MATLAB", "onnx": "ONNX", "file": "Users' files"}
GROUP_LABELS = {"keras": "family", "mat": "layer group", "onnx": "op group", "file": "model"}
KNOWN_DEFAULT_PATHS = ("keras>tf2onnx>onnx2torch", "onnx>onnx2torch", "mat>mat2torch")
"""The first of each built-in source's `default_paths` (harness/sources), used when the run
records do not name the paths a source's cases went down. Written out rather than imported:
harness.sources needs numpy, and merging reports needs nothing but Python."""


def source_of(record: Mapping[str, Any]) -> str:
    return str(record.get("source") or "keras")


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def group_of(record: Mapping[str, Any]) -> str:
    return str(record.get("family") or "other")


def prefixes(path: str) -> list[str]:
    """The legs a path can have: `a>b>c` gives `a`, `a>b`, `a>b>c`."""
    stages = path.split(">")
    return [">".join(stages[: i + 1]) for i in range(len(stages))]


def stage_label(leg: str) -> str:
    """The converter a leg ends in; a leg of one stage is the source checked on its own."""
    return leg.rsplit(">", 1)[-1]


@dataclass(frozen=True)
class Column:
    leg: str
    device: str | None = None
    """Set only when the run mixes devices or stacks (``summary.cell``), so that CPU and CUDA
    results, or the floor's and ci's, are not summed."""

    @property
    def label(self) -> str:
        return self.leg if self.device is None else f"{self.leg} [{self.device}]"


@dataclass
class Table:
    """Verdict counts of one source: rows (groups or kinds) against columns (legs)."""

    rows: list[str]
    columns: list[Column]
    cells: dict[tuple[str, Column], Counter[str]]
    row_totals: dict[str, Counter[str]]
    column_totals: dict[Column, Counter[str]]
    total: Counter[str]


@dataclass
class SourceSummary:
    source: str
    default_path: str | None
    default_legs: list[str]
    legs: list[str]
    """Every leg of the source: the default path's first, then the others path by path."""
    records: list[dict[str, Any]] = field(default_factory=list)
    cases: int = 0

    @property
    def label(self) -> str:
        return source_label(self.source)

    @property
    def group_label(self) -> str:
        return GROUP_LABELS.get(self.source, "family")

    @property
    def counts(self) -> Counter[str]:
        return Counter(r["verdict"] for r in self.records)

    def scorecard(self, several_devices: bool, default_only: bool = False) -> Table:
        legs = self.default_legs if default_only else self.legs
        return build_table(self.records, group_of, legs, several_devices)

    def matrix(self, several_devices: bool) -> Table:
        return build_table(self.records, lambda r: str(r["kind"]), self.legs, several_devices)


def build_table(
    records: list[dict[str, Any]],
    row_of: Any,
    legs: list[str],
    several_devices: bool,
) -> Table:
    wanted = set(legs)
    cells: dict[tuple[str, Column], Counter[str]] = defaultdict(Counter)
    row_totals: dict[str, Counter[str]] = defaultdict(Counter)
    column_totals: dict[Column, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for record in records:
        if record["leg"] not in wanted:
            continue
        column = Column(record["leg"], cell(record) if several_devices else None)
        row, verdict = row_of(record), record["verdict"]
        cells[row, column][verdict] += 1
        row_totals[row][verdict] += 1
        column_totals[column][verdict] += 1
        total[verdict] += 1
    order = {leg: i for i, leg in enumerate(legs)}
    columns = sorted(column_totals, key=lambda c: (order[c.leg], c.device or ""))
    # Failing rows first: the reader opens the report to see what broke.
    rows = sorted(row_totals, key=lambda r: (-failing(row_totals[r]), r.casefold(), r))
    return Table(rows, columns, dict(cells), dict(row_totals), dict(column_totals), total)


def run_paths(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    """The paths the run records say were asked for, in the order first named."""
    named: list[str] = []
    for run in runs:
        paths = run.get("paths")
        for path in paths if isinstance(paths, list) else []:
            if isinstance(path, str) and path not in named:
                named.append(path)
    return named


def _default_path(
    records: list[dict[str, Any]], asked: list[str], given: str | None
) -> str | None:
    counts = Counter(str(r["path"]) for r in records if r.get("path"))
    legs = {r["leg"] for r in records}
    for candidate in [given] if given else []:
        if candidate in counts or candidate in legs:
            return candidate
    for candidate in [*asked, *KNOWN_DEFAULT_PATHS]:
        if candidate in counts:
            return candidate
    if not counts:
        return None
    return min(counts, key=lambda p: (-counts[p], p))


def _leg_order(
    records: list[dict[str, Any]], default: str | None, asked: list[str]
) -> tuple[list[str], list[str]]:
    legs = {r["leg"] for r in records}
    paths = sorted({str(r["path"]) for r in records if r.get("path")})
    ranked = ([default] if default else []) + [p for p in asked if p in paths and p != default]
    ranked += [p for p in paths if p not in ranked]
    ordered: list[str] = []
    for path in ranked:
        ordered += [leg for leg in prefixes(path) if leg in legs and leg not in ordered]
    ordered += sorted(legs - set(ordered))
    default_legs = [leg for leg in prefixes(default) if leg in legs] if default else []
    return default_legs, ordered


def summarise_sources(
    records: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    default_paths: Mapping[str, str] | None = None,
) -> list[SourceSummary]:
    """One summary per source present, Keras, MATLAB, ONNX and users' files first."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_source[source_of(record)].append(record)
    asked = run_paths(runs)
    rank = {s: i for i, s in enumerate(SOURCE_ORDER)}
    summaries = []
    for source in sorted(by_source, key=lambda s: (rank.get(s, len(rank)), s)):
        mine = by_source[source]
        default = _default_path(mine, asked, (default_paths or {}).get(source))
        default_legs, legs = _leg_order(mine, default, asked)
        summary = SourceSummary(source, default, default_legs, legs, mine)
        summary.cases = len({r["case_id"] for r in mine})
        summaries.append(summary)
    return summaries
