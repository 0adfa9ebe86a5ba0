"""What changed since a previous run: new failures, fixed ones, known issues that stopped
reproducing, metrics that moved.

Results are keyed by (case_id, leg). The case id is the hash of the spec, so the same key in
two runs is the same configuration on the same leg. When one run holds several records of a
key (CPU and CUDA, or two shards), the worst verdict and the largest errors stand for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.report.load import BAD_VERDICTS
from harness.report.summary import VERDICT_RANK

TRACKED_METRICS = ("max_abs", "max_rel")
DEFAULT_FACTOR = 10.0
DEFAULT_FLOOR = 1e-12
"""Errors below this count as this, so that 0 → 1e-20 is not an infinite move."""

Key = tuple[str, str]


@dataclass(frozen=True)
class Entry:
    verdict: str
    kind: str
    metrics: dict[str, float]
    issue: str | None = None
    """The known issue the worst record of the key named, if any."""


@dataclass(frozen=True)
class Move:
    case_id: str
    leg: str
    kind: str
    metric: str
    before: float
    after: float
    factor: float
    """How many times larger (> 1) or smaller (< 1) the metric became, both floored."""


@dataclass
class Trend:
    newly_failing: list[tuple[Key, Entry, Entry]] = field(default_factory=list)
    newly_passing: list[tuple[Key, Entry, Entry]] = field(default_factory=list)
    fixed: list[tuple[Key, Entry, Entry]] = field(default_factory=list)
    """Keys that failed and no longer do: newly passing, and those now a known issue or
    skipped (the new verdict says which)."""
    stopped: dict[str, list[tuple[Key, Entry, Entry]]] = field(default_factory=dict)
    """Per known issue: the keys it held (xfail) in the previous run that this run ran
    without it (they pass, xpass, or fail some other way)."""
    held: dict[str, int] = field(default_factory=dict)
    """Per known issue: the keys it held in the previous run that this run ran too."""
    added_failing: list[tuple[Key, Entry]] = field(default_factory=list)
    """Failing keys the previous run did not have (a case drawn only this time)."""
    moved: list[Move] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    factor: float = DEFAULT_FACTOR


def _number(value: Any) -> float | None:
    """The metric as a float; the results writer spells infinities "inf" (JSON has none).
    An infinite error is a real move; NaN compares with nothing and is left out."""
    if value == "inf":
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _merge(old: Entry | None, new: Entry) -> Entry:
    if old is None:
        return new
    worse = min(old, new, key=lambda e: VERDICT_RANK[e.verdict])
    metrics = dict(old.metrics)
    for name, value in new.metrics.items():
        metrics[name] = max(value, metrics.get(name, value))
    return Entry(worse.verdict, old.kind, metrics, worse.issue or old.issue or new.issue)


def index(results: Iterable[Mapping[str, Any]]) -> dict[Key, Entry]:
    entries: dict[Key, Entry] = {}
    for record in results:
        metrics = record.get("metrics") if isinstance(record.get("metrics"), Mapping) else {}
        values = {m: v for m in TRACKED_METRICS if (v := _number(metrics.get(m))) is not None}
        key = (str(record["case_id"]), str(record["leg"]))
        issue = record.get("known_issue") if isinstance(record.get("known_issue"), Mapping) else {}
        issue_id = str(issue["id"]) if issue.get("id") else None
        entry = Entry(str(record["verdict"]), str(record.get("kind", "?")), values, issue_id)
        entries[key] = _merge(entries.get(key), entry)
    return entries


def compute_trend(
    current: Iterable[Mapping[str, Any]],
    previous: Iterable[Mapping[str, Any]],
    factor: float = DEFAULT_FACTOR,
    floor: float = DEFAULT_FLOOR,
) -> Trend:
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    now, before = index(current), index(previous)
    trend = Trend(factor=factor)
    trend.added = len(now.keys() - before.keys())
    trend.added_failing = [
        (key, now[key])
        for key in sorted(now.keys() - before.keys())
        if now[key].verdict in BAD_VERDICTS
    ]
    trend.removed = len(before.keys() - now.keys())
    for key in sorted(now.keys() & before.keys()):
        old, new = before[key], now[key]
        was_bad, is_bad = old.verdict in BAD_VERDICTS, new.verdict in BAD_VERDICTS
        if is_bad and not was_bad:
            trend.newly_failing.append((key, old, new))
        elif was_bad and not is_bad:
            trend.fixed.append((key, old, new))
            if new.verdict == "pass":
                trend.newly_passing.append((key, old, new))
        if old.verdict == "xfail" and old.issue:
            trend.held[old.issue] = trend.held.get(old.issue, 0) + 1
            if new.verdict != "xfail" or new.issue != old.issue:
                trend.stopped.setdefault(old.issue, []).append((key, old, new))
        for metric in TRACKED_METRICS:
            if metric not in old.metrics or metric not in new.metrics:
                continue
            a, b = old.metrics[metric], new.metrics[metric]
            if math.isinf(a) and math.isinf(b):
                continue
            change = max(b, floor) / max(a, floor) if not math.isinf(a) else 0.0
            if change > factor or change < 1 / factor:
                trend.moved.append(Move(key[0], key[1], new.kind, metric, a, b, change))
    trend.moved.sort(key=lambda m: -abs(math.log(m.factor)) if m.factor else -math.inf)
    return trend
