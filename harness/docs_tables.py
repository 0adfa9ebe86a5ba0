"""Tables in ``docs/`` that are generated from the code, so that they cannot drift from it.

``docs/known-issues.md`` holds the table of known upstream bugs between two marker comments;
it is written from the known-issue files (``harness/known_issues.toml`` and
``harness/known_issues.d/*.toml``), grouped by file::

    python -m harness.docs_tables            # rewrite the table in docs/known-issues.md
    python -m harness.docs_tables --check    # exit 1 when the committed table is stale

``tests/test_docs.py`` runs the check.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import known_issues
from harness.known_issues import KnownIssue

ROOT = Path(__file__).resolve().parents[1]
KNOWN_ISSUES_PAGE = ROOT / "docs" / "known-issues.md"
BEGIN = ("<!-- BEGIN known-issues table: generated from the known-issue files by "
         "`python -m harness.docs_tables`; do not edit by hand -->")
END = "<!-- END known-issues table -->"
REGENERATE = "python -m harness.docs_tables"


class DocsTableError(ValueError):
    pass


def known_issue_files() -> list[Path]:
    """Every known-issue file, in the order ``known_issues.load()`` reads them."""
    return [known_issues.DEFAULT_FILE, *sorted(known_issues.MORE_FILES.glob("*.toml"))]


def _cell(text: str) -> str:
    """One Markdown table cell: a single line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _legs(issue: KnownIssue) -> str:
    globs = (issue.legs,) if isinstance(issue.legs, str) else issue.legs
    return ", ".join(f"`{glob}`" for glob in globs)


def _minimal(issue: KnownIssue) -> str:
    spec = issue.minimal
    if spec is None:
        return "none"
    shapes = ", ".join(str(tuple(shape)) for shape in spec.input_shapes)
    return f"`{spec.kind}` on {shapes}"


def _row(issue: KnownIssue) -> str:
    return (f"| [`{issue.id}`]({issue.url}) | {_legs(issue)} | {_minimal(issue)} "
            f"| {_cell(issue.reason)} |")


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def known_issues_table(files: Sequence[Path] | None = None) -> str:
    """The generated Markdown: a count, then one table per known-issue file."""
    files = known_issue_files() if files is None else list(files)
    if files == known_issue_files():
        known_issues.load()  # the same checks (one id once across the files) as a run
    groups = [(path, known_issues.load(path)) for path in files]
    issues = [issue for _, entries in groups for issue in entries]
    pinned = sum(issue.minimal is not None for issue in issues)
    lines = [
        f"{len(issues)} entries; {pinned} carry the minimal spec that reproduces them and run "
        "as strict xfail tests.",
    ]
    for path, entries in groups:
        if not entries:
            continue
        lines += [
            "",
            f"### `{_display(path)}` ({len(entries)})",
            "",
            "| id | legs it breaks | minimal spec | what goes wrong |",
            "|---|---|---|---|",
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
    parser = argparse.ArgumentParser(prog="python -m harness.docs_tables",
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
