"""`parity report`: merge results shards into the HTML report (and JUnit XML).

    parity report [RESULTS ...] [--merge FILE ...] [--previous OLD ...] [-o parity.html]

`parity report --previous OLD.jsonl NEW.jsonl` compares NEW with OLD: the page opens on the
new failures, the fixed ones and the known issues that stopped reproducing. The `parity`
command calls `add_commands(subparsers)`; this module only parses and dispatches, the work
is in load, html and junit.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any

from harness.report.html import write_html
from harness.report.junit import write_junit
from harness.report.load import Results, collector_paused, load_results
from harness.report.summary import converter_table
from harness.report.trend import DEFAULT_FACTOR, compute_trend

DEFAULT_RESULTS = "reports/results.jsonl"
DEFAULT_HTML = "reports/parity.html"

EXIT_PASS, EXIT_FAIL, EXIT_NO_INPUT = 0, 1, 2

DomainsSource = Mapping[str, Mapping[str, Any]] | Callable[[], Mapping[str, Mapping[str, Any]]]


def add_commands(subparsers: Any, domains: DomainsSource | None = None) -> argparse.ArgumentParser:
    """Add `report` to a subparsers object; `domains` (or a function returning them) feeds
    the coverage section's "never drawn" column, and is only called when the command runs."""
    parser = subparsers.add_parser(
        "report",
        help="build the HTML report from results JSONL files",
        description="Merge results JSONL shards into one self-contained HTML report. "
        "With --previous, the page opens on what changed since that run. "
        "Exit status: 0 when the overall verdict is PASS, 1 when it is FAIL or INCOMPLETE "
        "(unless --exit-zero), 2 when no result could be read.",
    )
    parser.add_argument(
        "results",
        metavar="RESULTS",
        nargs="*",
        help=f"results files to merge (default: {DEFAULT_RESULTS})",
    )
    parser.add_argument(
        "--merge",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="more results files to merge (as RESULTS)",
    )
    parser.add_argument(
        "--previous",
        metavar="OLD",
        action="append",
        default=[],
        help="the results of an earlier run to compare with (one file; repeat for shards): "
        "the page opens on new failures, fixed ones and known issues that stopped "
        "reproducing",
    )
    parser.add_argument("--junit", metavar="PATH", help="also write JUnit XML here")
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=DEFAULT_HTML,
        help=f"HTML file to write (default: {DEFAULT_HTML})",
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=DEFAULT_FACTOR,
        help="trend: list metrics that moved by more than this factor (default: %(default)s)",
    )
    parser.add_argument(
        "--table",
        choices=["family"],
        help="also print a Markdown table of pass / xfail / fail per layer family and "
        "converter",
    )
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 whatever the verdict, once the report is written",
    )
    parser.set_defaults(func=lambda args: run_report(args, domains))
    return parser


def _command_line(args: argparse.Namespace) -> str:
    """The command as parsed, so that it is right however `parity` was invoked (tests too)."""
    words = ["parity", "report"]
    for old in args.previous:
        words += ["--previous", old]
    if args.merge:
        words += ["--merge", *args.merge]
    if args.junit:
        words += ["--junit", args.junit]
    if args.factor != DEFAULT_FACTOR:
        words += ["--factor", str(args.factor)]
    if args.table:
        words += ["--table", args.table]
    if args.exit_zero:
        words.append("--exit-zero")
    return shlex.join([*words, "-o", args.output, *args.results])


def run_report(args: argparse.Namespace, domains: DomainsSource | None = None) -> int:
    with collector_paused():
        return _run_report(args, domains)


def _run_report(args: argparse.Namespace, domains: DomainsSource | None) -> int:
    if args.factor <= 1:
        print("parity report: --factor must be greater than 1", file=sys.stderr)
        return EXIT_NO_INPUT
    results = load_results([*args.results, *args.merge] or [DEFAULT_RESULTS])
    for problem in results.problems[:20]:
        print(f"parity report: warning: {problem}", file=sys.stderr)
    if len(results.problems) > 20:
        print(f"parity report: ... {len(results.problems) - 20} more problems", file=sys.stderr)
    previous = load_results(args.previous) if args.previous else None
    if previous is not None:
        for problem in previous.problems[:20]:
            print(f"parity report: warning (previous): {problem}", file=sys.stderr)
    if not results.results and not results.runs:
        print("parity report: no results read; nothing to report", file=sys.stderr)
        return EXIT_NO_INPUT
    command = _command_line(args)
    mapping = domains() if callable(domains) else domains
    verdict = write_html(
        results,
        args.output,
        previous=previous,
        command=command,
        domains=mapping,
        factor=args.factor,
    )
    if args.junit:
        write_junit(results, args.junit)
    if args.table == "family":
        print(converter_table(results.results).markdown())
    counts = results.verdict_counts()
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    print(f"parity report: {verdict} ({summary or 'no results'}) -> {args.output}")
    if previous is not None:
        print(f"parity report: since the previous run: {_changes(results, previous, args.factor)}")
    if args.junit:
        print(f"parity report: JUnit XML -> {args.junit}")
    if args.exit_zero or verdict == "PASS":
        return EXIT_PASS
    return EXIT_FAIL


def _changes(results: Results, previous: Results, factor: float) -> str:
    trend = compute_trend(results.results, previous.results, factor=factor)
    new = len(trend.newly_failing) + len(trend.added_failing)
    stopped = len(trend.stopped)
    return (f"{new} new failure(s), {len(trend.fixed)} fixed, {stopped} known issue(s) "
            "stopped reproducing")
