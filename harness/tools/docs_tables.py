"""Tables in ``docs/`` that are generated from the code, so that they cannot drift from it.

``docs/known-issues.md`` holds the counts (per nature, per party, reported or new) and the
table of known upstream bugs between two marker comments; they are written from the
known-issue files (``harness/known_issues.toml`` and ``harness/known_issues.d/*.toml``),
grouped by file::

    python -m harness.tools.docs_tables            # rewrite the table in docs/known-issues.md
    python -m harness.tools.docs_tables --check    # exit 1 when the committed table is stale

``tests/test_docs.py`` runs the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.core import known_issues
from harness.core.known_issues import KnownIssue

ROOT = Path(__file__).resolve().parents[2]
KNOWN_ISSUES_PAGE = ROOT / "docs" / "known-issues.md"
BEGIN = ("<!-- BEGIN known-issues table: generated from the known-issue files by "
         "`python -m harness.tools.docs_tables`; do not edit by hand -->")
END = "<!-- END known-issues table -->"
REGENERATE = "python -m harness.tools.docs_tables"


class DocsTableError(ValueError):
    pass


def known_issue_files() -> list[Path]:
    """Every known-issue file, in the order ``known_issues.load()`` reads them."""
    return [known_issues.DEFAULT_FILE, *sorted(known_issues.MORE_FILES.glob("*.toml"))]


def _cell(text: str) -> str:
    """One Markdown table cell: a single line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _legs(issue: KnownIssue) -> str:
    return ", ".join(f"`{glob}`" for glob in issue.globs)


_REPORT = re.compile(r"/(issues|pull)/(\d+)$")


def reported(issue: KnownIssue) -> bool:
    """The entry's url is an upstream issue or pull request of this bug: a report exists.
    Where none does, the url is the project's tracker (or a file of it) and the reason says
    that no upstream report was found."""
    return _REPORT.search(issue.url) is not None


def _report_link(url: str) -> str:
    match = _REPORT.search(url)
    return f"[#{match.group(2)}]({url})" if match else f"[tracker]({url})"


def _upstream(issue: KnownIssue) -> str:
    cell = _report_link(issue.url) if reported(issue) else "none found"
    related = [_report_link(url) for url in issue.see_also if _REPORT.search(url)]
    if related:
        cell += f"; {'also' if reported(issue) else 'related or in part'}: {', '.join(related)}"
    return cell


def _spec_text(spec) -> str:
    shapes = ", ".join(str(tuple(shape)) for shape in spec.input_shapes)
    return f"`{spec.kind}` on {shapes}"


def _pin(issue: KnownIssue) -> str:
    if len(issue.minimals) == 1:
        return _spec_text(issue.minimal)
    if issue.minimals:
        kinds = ", ".join(dict.fromkeys(f"`{spec.kind}`" for spec in issue.minimals))
        return f"{len(issue.minimals)} specs: {kinds}"
    if issue.pinned_by:
        return f"test `{issue.pinned_by.rsplit('::', 1)[-1]}`"
    return f"none: {_cell(issue.unpinned_reason or 'no reason given')}"


def _row(issue: KnownIssue) -> str:
    return (f"| [`{issue.id}`]({issue.url}) | {issue.nature or '?'} | "
            f"{', '.join(issue.parties) or '?'} | {_legs(issue)} | {_pin(issue)} | "
            f"{_upstream(issue)} | {_cell(issue.reason)} |")


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _counts(issues: list[KnownIssue]) -> list[str]:
    """The tables of counts a reader can recompute from the files: per nature, per party
    (a party by nature), and how many cite an upstream report."""
    natures = list(known_issues.NATURES)
    parties = sorted({party for issue in issues for party in issue.parties},
                     key=lambda party: (-sum(party in i.parties for i in issues), party))
    lines = ["", "### What they are", "", "| nature | what it is | entries |", "|---|---|---|"]
    for nature in natures:
        lines.append(f"| {nature} | {known_issues.NATURES[nature]} | "
                     f"{sum(issue.nature == nature for issue in issues)} |")
    lines += ["", "### Whose they are", "",
              "An entry that two converters carry counts for each of them.", "",
              f"| party | entries | {' | '.join(natures)} |",
              "|---|---|" + "---|" * len(natures)]
    for party in parties:
        mine = [issue for issue in issues if party in issue.parties]
        cells = " | ".join(str(sum(issue.nature == nature for issue in mine))
                           for nature in natures)
        lines.append(f"| {party} | {len(mine)} | {cells} |")
    cited = [issue for issue in issues if reported(issue)]
    related = [issue for issue in issues if not reported(issue)
               and any(_REPORT.search(url) for url in issue.see_also)]
    lines += [
        "", "### Upstream reports", "",
        f"- {len(cited)} entries cite an upstream issue or pull request of the bug (their "
        "`url`): a report already existed, whoever found the bug.",
        f"- {len(issues) - len(cited)} entries found no upstream report (their `url` is the "
        "project's tracker, and the reason says so): they are new, and ready to be reported. "
        f"{len(related)} of them name related reports, or reports of part of the entry, in "
        "`see_also`.",
    ]
    return lines


def known_issues_table(files: Sequence[Path] | None = None) -> str:
    """The generated Markdown: the counts, then one table per known-issue file."""
    files = known_issue_files() if files is None else list(files)
    if files == known_issue_files():
        known_issues.load()  # the same checks (one id once across the files) as a run
    groups = [(path, known_issues.load(path)) for path in files]
    issues = [issue for _, entries in groups for issue in entries]
    specs = sum(len(issue.minimals) for issue in issues)
    with_specs = sum(bool(issue.minimals) for issue in issues)
    named = sum(not issue.minimals and issue.pinned_by is not None for issue in issues)
    unpinned = len(issues) - with_specs - named
    lines = [
        f"{len(issues)} entries, one per root cause; {with_specs + named} pin something that "
        f"runs: {with_specs} carry {specs} minimal specs, each a strict xfail test, and "
        f"{named} name a test; {unpinned} say why nothing can pin them.",
        *_counts(issues),
    ]
    for path, entries in groups:
        if not entries:
            continue
        lines += [
            "",
            f"### `{_display(path)}` ({len(entries)})",
            "",
            "| id | nature | party | legs it breaks | pinned by | upstream report | "
            "what goes wrong |",
            "|---|---|---|---|---|---|---|",
            *(_row(issue) for issue in entries),
        ]
    return "\n".join(lines)


def render(page: str, table: str, where: str = "the page") -> str:
    """``page`` with the text between the markers replaced by ``table``."""
    if page.count(BEGIN) != 1 or page.count(END) != 1:
        raise DocsTableError(f"{where}: expected the marker lines {BEGIN!r} and {END!r} once "
                             "each")
    head, rest = page.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.docs_tables",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the committed table is out of date")
    parser.add_argument("--page", type=Path, default=KNOWN_ISSUES_PAGE,
                        help="the page holding the table (default docs/known-issues.md)")
    args = parser.parse_args(argv)
    try:
        page = args.page.read_text()
        updated = render(page, known_issues_table(), str(args.page))
    except (OSError, DocsTableError, known_issues.KnownIssueFileError) as exc:
        print(f"docs_tables: error: {exc}", file=sys.stderr)
        return 2
    if updated == page:
        print(f"{args.page}: up to date")
        return 0
    if args.check:
        print(f"{args.page}: the known-issues table is out of date; regenerate it with "
              f"`{REGENERATE}`", file=sys.stderr)
        return 1
    args.page.write_text(updated)
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
