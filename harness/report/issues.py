"""Known issues as this run met them, and failures grouped by what went wrong.

Both answer "where do the failures sit" without opening cases: 406 xfails read as one
purple count until they are split by the known issue each one is; 120 failures read as
a wall until the 3 messages behind them are seen.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.core import known_issues as entries
from harness.report.load import BAD_VERDICTS
from harness.report.scorecard import source_of
from harness.report.summary import VERDICT_RANK


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class IssueUse:
    """One known issue and the results it stood for in this run."""

    id: str
    url: str
    reason: str
    stages: Counter[str] = field(default_factory=Counter)
    legs: Counter[str] = field(default_factory=Counter)
    cases: set[str] = field(default_factory=set)
    verdicts: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    nature: str = ""
    """What it is (harness.core.known_issues.NATURES): from the record, else from the entry."""
    party: str = ""
    stopped: int = 0
    """Legs it held in the previous run that now pass, or fail otherwise (trend only)."""
    held: int = 0
    """Legs it held in the previous run that this run also ran."""

    @property
    def results(self) -> int:
        return sum(self.legs.values())

    @property
    def stage(self) -> str:
        """The stage the issue is charged to: downstream legs inherit it, so their blame
        names the stage upstream, and the most common blame is the issue's own stage."""
        return ", ".join(s for s, _ in self.stages.most_common()) or "?"

    @property
    def status(self) -> str:
        if self.verdicts["xpass"]:
            return "xpass"
        if self.stopped:
            return "stopped"
        return "reproduced" if self.verdicts["xfail"] else "other"


def known_issues(records: Iterable[Mapping[str, Any]]) -> list[IssueUse]:
    """Every known issue a record names, most cases first."""
    uses: dict[str, IssueUse] = {}
    for record in records:
        issue = _dict(record.get("known_issue"))
        if not issue:
            continue
        issue_id = str(issue.get("id") or issue.get("url") or "?")
        use = uses.get(issue_id)
        if use is None:
            use = uses[issue_id] = IssueUse(
                issue_id, str(issue.get("url") or ""), str(issue.get("reason") or ""),
                nature=str(issue.get("nature") or ""), party=str(issue.get("party") or ""),
            )
        use.stages[str(record.get("blame") or record.get("stage") or "?")] += 1
        use.legs[str(record["leg"])] += 1
        use.cases.add(str(record["case_id"]))
        use.verdicts[str(record["verdict"])] += 1
        use.sources.add(source_of(record))
    classify(uses.values())
    return sorted(uses.values(), key=lambda u: (-len(u.cases), -u.results, u.id))


def classify(uses: Iterable[IssueUse]) -> None:
    """Fills in the nature and party of uses whose records predate them (results written
    before entries carried them) from the entries of the same id, where there is one."""
    missing = [use for use in uses if not use.nature]
    if not missing:
        return
    try:
        by_id = {issue.id: issue for issue in entries.load()}
    except entries.KnownIssueFileError:
        return
    for use in missing:
        issue = by_id.get(use.id)
        if issue is not None:
            use.nature = issue.nature or ""
            use.party = ", ".join(issue.parties)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INHERITED = re.compile(r"^\(inherited from [^)]*\)\s*")


def first_line(message: Any) -> str:
    for line in str(message or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _line(record: Mapping[str, Any]) -> str:
    if record["verdict"] == "xpass":
        return f"known issue {_dict(record.get('known_issue')).get('id', '?')} did not reproduce"
    return first_line(_dict(record.get("failure")).get("message"))


def signature(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """What a failure is, apart from the case it happened in: the stage it is charged to,
    its category, and its message's first line with the numbers taken out (node names and
    values differ from case to case)."""
    if record["verdict"] == "xpass":
        category = "xpass"
    else:
        category = str(_dict(record.get("failure")).get("category") or record["verdict"])
    stage = str(record.get("blame") or record.get("stage") or "?")
    return stage, category, _NUMBER.sub("#", _INHERITED.sub("", _line(record)))


@dataclass
class FailureGroup:
    stage: str
    category: str
    message: str
    """The first member's first line, numbers and all."""
    records: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def cases(self) -> list[str]:
        return list(dict.fromkeys(str(r["case_id"]) for r in self.records))

    @property
    def kinds(self) -> Counter[str]:
        return Counter(str(r["kind"]) for r in self.records)

    @property
    def legs(self) -> Counter[str]:
        return Counter(str(r["leg"]) for r in self.records)

    @property
    def worst(self) -> str:
        return min((r["verdict"] for r in self.records), key=VERDICT_RANK.__getitem__)


def failure_groups(records: Iterable[Mapping[str, Any]]) -> list[FailureGroup]:
    """Failing, erroring and xpassing results grouped by signature, largest group first."""
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    for record in records:
        if record["verdict"] not in BAD_VERDICTS:
            continue
        key = signature(record)
        group = groups.get(key)
        if group is None:
            group = groups[key] = FailureGroup(key[0], key[1], _line(record))
        group.records.append(record)
    return sorted(
        groups.values(),
        key=lambda g: (-len(g.cases), -len(g.records), VERDICT_RANK[g.worst], g.stage, g.message),
    )
