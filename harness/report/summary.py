"""Aggregations the page shows: failures by stage, cases worst first, converters by family."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from harness.report.load import BAD_VERDICTS, VERDICTS

VERDICT_RANK = {verdict: rank for rank, verdict in enumerate(VERDICTS)}


def worst(verdicts: Any) -> str | None:
    ranked = sorted(verdicts, key=lambda v: VERDICT_RANK.get(v, len(VERDICTS)))
    return ranked[0] if ranked else None


def failing(counts: Counter[str]) -> int:
    return sum(counts[v] for v in BAD_VERDICTS)


def failing_tests(results: list[dict[str, Any]]) -> set[str]:
    """The pytest tests a run's failing records name: pytest's own count of failed tests
    (every failing test has a record: a case's, or its own)."""
    return {str(r["test"]) for r in results if r["verdict"] in BAD_VERDICTS and r.get("test")}


def cell(record: dict[str, Any]) -> str:
    """The matrix cell a record ran in: its device, and its stack (the tox environment) where
    a merged report holds several (``load_results`` stamps ``stack`` only then)."""
    device = str(record.get("device") or "?")
    stack = record.get("stack")
    return device if not stack else f"{stack} · {device}"


def several_devices(results: list[dict[str, Any]]) -> bool:
    """Whether the records ran in more than one cell (device or stack): then every table
    shows a column per cell instead of summing them."""
    return len({cell(r) for r in results}) > 1


@dataclass
class Breakdown:
    """Failures counted by the stage they are charged to and their category."""

    stages: list[str]
    categories: list[str]
    counts: dict[tuple[str, str], int]


def failure_breakdown(results: list[dict[str, Any]]) -> Breakdown:
    counts: Counter[tuple[str, str]] = Counter()
    for record in results:
        if record["verdict"] not in BAD_VERDICTS:
            continue
        failure = record.get("failure") if isinstance(record.get("failure"), dict) else {}
        category = failure.get("category") or record["verdict"]
        counts[str(record.get("stage") or "?"), str(category)] += 1
    stages = sorted({s for s, _ in counts})
    categories = sorted({c for _, c in counts})
    return Breakdown(stages, categories, dict(counts))


@dataclass
class Case:
    case_id: str
    kind: str
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.records[0]

    @property
    def worst(self) -> str:
        return worst(r["verdict"] for r in self.records) or "pass"

    @property
    def verdicts(self) -> list[str]:
        return sorted({r["verdict"] for r in self.records}, key=VERDICT_RANK.__getitem__)


def group_cases(results: list[dict[str, Any]]) -> list[Case]:
    """Cases worst first (failures and errors lead), then by kind and id, legs by path."""
    cases: dict[str, Case] = {}
    for record in results:
        case = cases.setdefault(record["case_id"], Case(record["case_id"], record["kind"]))
        case.records.append(record)
    for case in cases.values():
        case.records.sort(key=lambda r: (str(r.get("device")), r["leg"], str(r.get("path"))))
    return sorted(cases.values(), key=lambda c: (VERDICT_RANK[c.worst], c.kind, c.case_id))


@dataclass
class ConverterTable:
    """Verdicts counted per layer family and converter (the last stage of a leg), so that
    converters run on the same cases read side by side."""

    families: list[str]
    converters: list[str]
    cells: dict[tuple[str, str], Counter[str]]

    def cell(self, family: str, converter: str) -> str:
        counts = self.cells.get((family, converter))
        if not counts:
            return "-"
        other = sum(n for v, n in counts.items() if v not in ("pass", "xfail", "fail", "error"))
        text = f"{counts['pass']} / {counts['xfail']} / {counts['fail'] + counts['error']}"
        return text + (f" (+{other})" if other else "")

    def markdown(self) -> str:
        head = "| family | " + " | ".join(self.converters) + " |"
        rule = "|---|" + "---|" * len(self.converters)
        rows = [f"| {family} | " + " | ".join(self.cell(family, c) for c in self.converters)
                + " |" for family in self.families]
        return "\n".join([head, rule, *rows])


def converter_table(results: list[dict[str, Any]]) -> ConverterTable:
    cells: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for record in results:
        stage = record.get("stage") or str(record.get("leg", "?")).rsplit(">", 1)[-1]
        if stage == record.get("leg"):  # the source checked against itself
            continue
        cells[str(record.get("family") or "?"), stage][record["verdict"]] += 1
    families = sorted({f for f, _ in cells})
    converters = sorted({c for _, c in cells})
    return ConverterTable(families, converters, dict(cells))
