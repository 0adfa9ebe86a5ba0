"""The self-contained HTML report: one file, no network, its first screen the answer.

A converter engineer opens the page to learn three things: did the run pass, what changed
since the last one, and where the failures sit. The first screen (1400×1000) answers them:
the verdict; the changes since the previous run (new failures, fixed ones, known issues
that stopped reproducing), or the failures grouped by what went wrong; and, per source, a
scorecard of its families against the legs of its default path. Below come the known
issues the run met, every path, the kind × leg matrix, the case browser, coverage and the
environment, once.

Everything outside the case browser and the coverage lists is plain HTML. The cases and the
coverage are one compact JSON block, gzip-compressed (data.py), that the page's script
renders on demand; the first failing cases are also rendered here in full, so that they
read without script, and the data carries only their summary.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from harness.core.atomic import atomic_write_text
from harness.core.known_issues import NATURES
from harness.report.assets import CSS, JS
from harness.report.coverage import Domains, KindCoverage, compute_coverage, reach, reach_text
from harness.report.data import (
    Interner,
    Kinds,
    case_entry,
    coverage_data,
    data_blocks,
    page_data,
)
from harness.report.environment import ABSENT, Environment, environment_once
from harness.report.escape import html_id, safe_url, text, truncate
from harness.report.fragments import as_dict, case_block, counts_pills, dl, num, verdict_pill
from harness.report.fragments import now as _now
from harness.report.issues import (
    FailureGroup,
    IssueUse,
    classify,
    failure_groups,
    known_issues,
)
from harness.report.load import BAD_VERDICTS, VERDICTS, Results
from harness.report.scorecard import (
    Column,
    SourceSummary,
    Table,
    stage_label,
    summarise_sources,
)
from harness.report.summary import (
    Case,
    failing_tests,
    failure_breakdown,
    group_cases,
    several_devices,
    worst,
)
from harness.report.trend import DEFAULT_FACTOR, Trend, compute_trend

TABLE_LIMIT = 300
"""Rows shown per trend table; the rest are counted."""
GROUPS_SHOWN = 6
"""Failure groups on the first screen; the rest follow, folded."""
CHANGES_SHOWN = 5
"""Items per list of changes on the first screen; every one is in the trend section."""
STATIC_CASES = 100
STATIC_BYTES = 250_000
"""Failing cases rendered in full HTML, worst first, up to this many and this many bytes of
HTML (a case with its histograms and messages is several kilobytes); the rest are rendered
by the script from the data block."""

_MACHINE_FIELDS = (
    ("host", "host"),
    ("device", "device"),
    ("cpu", "CPU"),
    ("gpu", "GPU"),
    ("platform", "platform"),
    ("python", "python"),
)
_RUN_FIELDS = ("opset", "paths", "command")


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _csp() -> str:
    return (
        "default-src 'none'; "
        f"script-src {_csp_hash(JS)}; "
        f"style-src {_csp_hash(CSS)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _case_link(case_id: str, anchors: Mapping[str, str], label: str | None = None) -> str:
    anchor = anchors.get(case_id)
    inner = f"<code>{text(label or case_id)}</code>"
    return f'<a href="#{anchor}">{inner}</a>' if anchor else inner


def _leg_html(leg: str) -> str:
    """A leg that wraps after each stage rather than widening its column."""
    return "&gt;<wbr>".join(text(part) for part in str(leg).split(">"))


# ---------------------------------------------------------------- header


_WHY = {
    "PASS": "every result passed, or failed as a known issue expects",
    "FAIL": "a result failed, errored, or passed where a known issue expects a failure",
    "INCOMPLETE": "nothing failed, but some input could not be read or there are no results",
}


def _headline(results: Results, trend: Trend | None) -> str:
    bad = [r for r in results.results if r["verdict"] in BAD_VERDICTS]
    if bad:
        line = (f"{_plural(len(bad), 'failing result')} in "
                f"{_plural(len({r['case_id'] for r in bad}), 'case')}")
        tests = failing_tests(results.results)
        if tests:
            line += f" of {_plural(len(tests), 'failing test')}"
    elif results.results:
        line = "no failure"
    else:
        line = "no results"
    if trend is not None:
        new = len(trend.newly_failing) + len(trend.added_failing)
        line += f" · {new:,} new and {len(trend.fixed):,} fixed since the previous run"
    return line


def _identities(runs: list[dict[str, Any]]) -> str:
    """What judged the run besides the converter (harness.gate.identity): parity's release,
    the golden store and the known-issue set, as the first run record that names them
    says; shards that differ show in the environment section."""
    found = next((r["identities"] for r in runs if isinstance(r.get("identities"), dict)), None)
    if not found:
        return ""
    store, issues = found.get("golden"), found.get("known_issues") or {}
    return " · ".join([
        f"parity {found.get('parity', '?')}",
        f"golden store {store.get('manifest_sha256', '?')[:12]} ({store.get('cases', '?')} "
        f"cases)" if isinstance(store, dict) else "no golden store",
        f"known issues {issues.get('sha256', '?')[:12]} ({issues.get('entries', '?')} entries)",
    ])


def _contexts_lost(results: Results) -> str:
    """The device contexts the run's workers lost (a CUDA device-side assert ends its worker,
    harness.run.isolation), over every shard; "" where none was."""
    return ", ".join(f"{label} context lost {_plural(times, 'time')}"
                     for label, times in sorted(results.contexts_lost().items()) if times)


def _header(results: Results, verdict: str, command: str | None, trend: Trend | None,
            sources: list[SourceSummary]) -> str:
    counts = results.verdict_counts()
    cases = len({r["case_id"] for r in results.results})
    totals = "".join(
        f'<span class="tot v-{v}" title="{v}"><b>{counts[v]:,}</b> {v}</span>'
        for v in VERDICTS if counts[v]
    )
    problems = ""
    if results.problems:
        problems = (f'<a class="warnlink" href="#problems">{_plural(len(results.problems), "line")}'
                    " could not be read</a>")
    meta = [
        f"{_plural(len(results.results), 'result')}",
        _plural(cases, "case"),
        text(", ".join(f"{s.label} {s.cases:,}" for s in sources)) if len(sources) > 1 else "",
        _plural(len(results.sources), "file") + " merged",
        text(_identities(results.runs)),
        text(_contexts_lost(results)),
        f"generated {text(_now())}",
    ]
    parts = [
        '<header><div class="head"><h1>Parity report</h1>',
        f'<span class="overall {verdict}" id="verdict" title="{text(_WHY[verdict])}">{verdict}'
        "</span>",
        f'<span class="headline" id="headline">{text(_headline(results, trend))}</span>',
        f'<span class="totals">{totals}</span>{problems}</div>',
        f'<p class="meta muted">{" · ".join(m for m in meta if m)}',
    ]
    if command:
        parts.append(f' · <code class="command">{text(command)}</code>')
    parts.append(
        '</p><nav class="toc"><a href="#known-issues">Known issues</a>'
        '<a href="#paths">Every path</a><a href="#kinds">Kinds</a>'
        '<a href="#trend">Trend</a><a href="#cases">Cases</a><a href="#coverage">Coverage</a>'
        '<a href="#environment">Environment</a></nav></header>'
    )
    return "".join(parts)


# ---------------------------------------------------------------- first screen: failures


def _group(group: FailureGroup, anchors: Mapping[str, str]) -> str:
    kinds = group.kinds.most_common()
    kind_text = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in kinds[:3])
    if len(kinds) > 3:
        kind_text += f" +{len(kinds) - 3} more"
    legs = ", ".join(group.legs)
    first = group.cases[0]
    return (
        f'<li class="group g-{group.worst}"><div class="gl">'
        f'<span class="gcount" title="results">{len(group.records):,}</span>'
        f"{verdict_pill(group.worst)}<b>{text(group.stage)}</b>"
        f'<span class="muted">{text(group.category)}</span>'
        f'<span class="muted small">{_plural(len(group.cases), "case")}</span></div>'
        f'<div class="gm" title="{text(truncate(group.message, 2000))}">'
        f"{text(truncate(group.message, 300))}</div>"
        f'<div class="gk small muted">{text(kind_text)} · <span title="{text(legs)}">'
        f"{_plural(len(group.legs), 'leg')}</span> · first {_case_link(first, anchors)}</div></li>"
    )


def _failures(results: Results, groups: list[FailureGroup], anchors: Mapping[str, str],
              issues: list[IssueUse], heading: bool = True) -> str:
    bad = [r for r in results.results if r["verdict"] in BAD_VERDICTS]
    title = "<h2>Failures</h2>" if heading else "<h3>Still failing</h3>"
    if not results.results:
        return (f'<section id="failures" class="panel">{title}<p class="warn">No result was '
                "read: nothing passed or failed.</p></section>")
    if not bad:
        counts = results.verdict_counts()
        held = sum(len(u.cases) for u in issues)
        return (
            f'<section id="failures" class="panel ok">{title}<p class="okline">No failure.</p>'
            f'<p class="muted">{counts["pass"]:,} results pass; {counts["xfail"]:,} fail as '
            f"{_plural(len(issues), 'known issue')} expect ({_plural(held, 'case')}, "
            f'see <a href="#known-issues">known issues</a>); {counts["skip"]:,} skipped.</p>'
            "</section>"
        )
    cases = len({r["case_id"] for r in bad})
    shown = "".join(_group(g, anchors) for g in groups[:GROUPS_SHOWN])
    rest = groups[GROUPS_SHOWN:]
    more = ""
    if rest:
        more = (f'<details class="more"><summary>{_plural(len(rest), "more kind")} of failure'
                f'</summary><ol class="groups">{"".join(_group(g, anchors) for g in rest)}'
                "</ol></details>")
    return (
        f'<section id="failures" class="panel">{title}'
        f'<p class="muted small">{_plural(len(bad), "result")} in {_plural(cases, "case")}, '
        f"{_plural(len(groups), 'kind')} of failure (stage · category · message), "
        f'largest first</p><ol class="groups">{shown}</ol>{more}</section>'
    )


# ---------------------------------------------------------------- first screen: changes


def _change_list(items: list[str], total: int, empty: str) -> str:
    if not total:
        return f'<p class="muted small">{empty}</p>'
    more = total - len(items)
    tail = f'<li class="muted"><a href="#trend">… and {more:,} more</a></li>' if more > 0 else ""
    return f'<ul class="changes">{"".join(items)}{tail}</ul>'


def _changes(trend: Trend, anchors: Mapping[str, str], records: list[dict[str, Any]],
             issues: Mapping[str, IssueUse]) -> str:
    firsts: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        firsts.setdefault((record["case_id"], record["leg"]), record)

    def line(key: tuple[str, str], old: str | None, new: str) -> str:
        record = firsts.get(key, {})
        failure = as_dict(record.get("failure"))
        message = str(failure.get("message") or "").strip().splitlines()
        before = f"{verdict_pill(old)}→" if old else ""
        return (
            f'<li>{before}{verdict_pill(new)}<b>{text(record.get("kind", "?"))}</b> '
            f'<span class="muted">{text(record.get("stage") or key[1])}</span> '
            f"{_case_link(key[0], anchors, key[0][:8])}"
            + (f'<div class="gm">{text(truncate(message[0], 200))}</div>' if message else "")
            + "</li>"
        )

    new = [(k, o.verdict, n.verdict) for k, o, n in trend.newly_failing]
    new += [(k, None, n.verdict) for k, n in trend.added_failing]
    fixed = [(k, o.verdict, n.verdict) for k, o, n in trend.fixed]
    stopped = sorted(trend.stopped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    stopped_items = []
    for issue_id, keys in stopped[:CHANGES_SHOWN]:
        use = issues.get(issue_id)
        url = safe_url(use.url) if use else None
        label = text(issue_id)
        link = f'<a href="{text(url)}" rel="noopener noreferrer">{label}</a>' if url else label
        verdicts = Counter(n.verdict for _, _, n in keys)
        now_ = ", ".join(f"{n} {v}" for v, n in verdicts.most_common())
        stopped_items.append(
            f'<li><b>{link}</b> <span class="muted">{len(keys)} of {trend.held.get(issue_id, 0)}'
            f" legs it held now: {text(now_)}</span> "
            f"{_case_link(keys[0][0][0], anchors, keys[0][0][0][:8])}</li>"
        )
    blocks = [
        ("new", "New failures", len(new),
         _change_list([line(k, o, n) for k, o, n in new[:CHANGES_SHOWN]], len(new),
                      "No result fails that did not fail before.")),
        ("fixed", "Fixed", len(fixed),
         _change_list([line(k, o, n) for k, o, n in fixed[:CHANGES_SHOWN]], len(fixed),
                      "No failure of the previous run was fixed.")),
        ("stopped", "Known issues that stopped reproducing", len(stopped),
         _change_list(stopped_items, len(stopped),
                      "Every known issue of the previous run still reproduces.")),
    ]
    body = "".join(
        f'<div class="chg chg-{name}" id="changes-{name}"><h3>{title} <b class="n">{count:,}</b>'
        f"</h3>{items}</div>"
        for name, title, count, items in blocks
    )
    return (
        '<section id="changes" class="panel"><h2>Since the previous run</h2>'
        f'<p class="muted small">by case and leg: {trend.added:,} new, {trend.removed:,} gone; '
        f'details in <a href="#trend">Trend</a></p>{body}</section>'
    )


# ---------------------------------------------------------------- scorecards


def _cell(counts: Counter[str] | None) -> str:
    """Counts per verdict, shaded by the worst; an empty cell is empty (the stylesheet
    marks it), and the script sorts by the pills: a big run has thousands of cells."""
    if not counts:
        return "<td></td>"
    shade = worst(v for v in counts if counts[v])
    return f'<td class="c-{shade}">{counts_pills(counts)}</td>'


def _column_head(column: Column, short: bool, sortable: bool) -> str:
    label = text(stage_label(column.leg)) if short else _leg_html(column.leg)
    device = f" <small>[{text(column.device)}]</small>" if column.device else ""
    kind = ' data-type="num"' if sortable else ""
    return f'<th title="{text(column.label)}"{kind}>{label}{device}</th>'


def _table(table: Table, row_head: str, short: bool, totals: bool, cls: str,
           row_attrs: Any = None) -> str:
    sortable = row_attrs is not None
    first = ' data-type="text"' if sortable else ""
    head = f"<th{first}>{text(row_head)}</th>" + "".join(
        _column_head(c, short, sortable) for c in table.columns
    )
    if totals:
        number = ' data-type="num"' if sortable else ""
        head += f"<th{number}>all legs</th>"
    body = []
    for row in table.rows:
        cells = "".join(_cell(table.cells.get((row, c))) for c in table.columns)
        if totals:
            cells += _cell(table.row_totals[row])
        attrs = row_attrs(row) if row_attrs else ""
        body.append(f'<tr{attrs}><td class="rowname">{text(row)}</td>{cells}</tr>')
    foot = "<td>all</td>" + "".join(_cell(table.column_totals[c]) for c in table.columns)
    if totals:
        foot += _cell(table.total)
    return (
        f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        f"<tfoot><tr>{foot}</tr></tfoot></table>"
    )


def _path_html(path: str | None) -> str:
    if not path:
        return "every leg"
    return '<span class="arrow">›</span>'.join(
        f"<code>{text(stage)}</code>" for stage in path.split(">")
    )


def _scorecards(sources: list[SourceSummary], devices: bool) -> str:
    if not sources:
        return '<section id="scorecards" class="panel"><h2>Scorecard</h2><p>No results.</p></section>'
    cards = []
    for source in sources:
        table = source.scorecard(devices, default_only=bool(source.default_legs))
        cards.append(
            f'<div class="card" id="scorecard-{text(html_id("", source.source, len(cards)))}" '
            f'data-source="{text(source.source)}"><div class="cardhead">'
            f"<h3>{text(source.label)}</h3>"
            f'<span class="path" title="the default path">{_path_html(source.default_path)}</span>'
            f'<span class="small muted">{_plural(source.cases, "case")}</span></div>'
            f"{_table(table, source.group_label, short=True, totals=False, cls='score')}</div>"
        )
    whose = "each source's" if len(sources) > 1 else "the"
    several = " several" if len(sources) > 1 else ""
    legend = "".join(verdict_pill(v) for v in VERDICTS)
    return (
        f'<section id="scorecards" class="panel"><div class="cardstitle"><h2>Scorecard '
        f'<small>{text(whose)} default path; every path <a href="#paths">below</a></small></h2>'
        f'<span class="legend small" title="results per verdict">{legend}</span></div>'
        f'<div class="cards{several}">{"".join(cards)}</div></section>'
    )


# ---------------------------------------------------------------- known issues


NATURE_ORDER = ("wrong-output", "refusal", "limitation", "reference", "undefined", "framework")


def _by_nature(uses: list[IssueUse]) -> list[tuple[str, list[IssueUse]]]:
    """The uses grouped by what each issue is, in NATURE_ORDER (unclassified last), each
    group in the uses' own order."""
    rank = {nature: n for n, nature in enumerate(NATURE_ORDER)}
    natures = sorted({use.nature for use in uses}, key=lambda n: (rank.get(n, len(rank)), n))
    return [(nature, [use for use in uses if use.nature == nature]) for nature in natures]


def _issue_row(use: IssueUse, index: int) -> str:
    url = safe_url(use.url)
    label = text(use.id)
    link = f'<a href="{text(url)}" rel="noopener noreferrer">{label}</a>' if url else label
    raw = f'<br><small>{text(use.url)}</small>' if use.url and not url else ""
    party = f'<br><small>{text(use.party)}</small>' if use.party else ""
    status = []
    for verdict in ("xfail", "xpass", "fail", "error", "pass", "skip"):
        if use.verdicts[verdict]:
            status.append(verdict_pill(verdict) + f"<small>{use.verdicts[verdict]:,}</small>")
    if use.stopped:
        status.append(f'<span class="stale">stopped in {use.stopped} of {use.held} legs</span>')
    legs = ", ".join(f"{leg} ×{n}" for leg, n in use.legs.most_common())
    return (
        f'<tr class="issue-{use.status}" id="{text(html_id("issue-", use.id, index))}">'
        f"<td>{link}{raw}{party}</td><td>{text(use.stage)}</td>"
        f'<td class="num">{len(use.cases):,}</td>'
        f'<td class="num" title="{text(legs)}">{use.results:,}'
        f'<small> on {_plural(len(use.legs), "leg")}</small></td>'
        f'<td class="status">{"".join(status)}</td>'
        f'<td class="reason"><div class="clamp">{text(use.reason)}</div></td></tr>'
    )


def _known_issues(uses: list[IssueUse], trend: Trend | None) -> str:
    if not uses:
        note = "No result was recognised as a known issue."
        if trend is not None and trend.stopped:
            note = "No known issue reproduced in this run."
        return f'<section id="known-issues"><h2>Known issues</h2><p class="muted">{note}</p></section>'
    rows = []
    groups = _by_nature(uses)
    for nature, members in groups:
        what = NATURES.get(nature, "not classified (an entry without a nature, or gone)")
        rows.append(
            f'<tr class="issue-group"><th colspan="6">{text(nature or "unclassified")} '
            f'<small>{text(what)}: {_plural(len(members), "issue")}</small></th></tr>')
        for use in members:
            rows.append(_issue_row(use, len(rows)))
    cases = len(set().union(*(u.cases for u in uses)))
    results = sum(u.results for u in uses)
    return (
        '<section id="known-issues"><h2>Known issues <small>'
        f"{_plural(len(uses), 'issue')} stood for {_plural(results, 'result')} in "
        f"{_plural(cases, 'case')}</small></h2>"
        '<p class="muted small">An xpass is a known issue that no longer reproduces: its entry '
        "is stale (harness/known_issues.toml). Grouped by what each issue is (wrong output, a "
        "refusal, a runtime limitation, a wrong reference reading, a case the spec leaves "
        "undefined, a framework defect). Hover a reason for all of it, a leg count for "
        "the legs.</p>"
        + later('<div class="scroll"><table class="issues"><thead><tr><th>known issue</th>'
                "<th>stage</th><th>cases</th><th>results</th><th>this run</th><th>reason</th>"
                f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
        + "</section>"
    )


def _issue_uses(records: list[dict[str, Any]], previous: list[dict[str, Any]] | None,
                trend: Trend | None) -> list[IssueUse]:
    uses = known_issues(records)
    if trend is None:
        return uses
    by_id = {u.id: u for u in uses}
    earlier = {u.id: u for u in known_issues(previous or [])}
    for issue_id, held in trend.held.items():
        use = by_id.get(issue_id)
        if use is None and issue_id in trend.stopped:
            old = earlier.get(issue_id)
            use = by_id[issue_id] = IssueUse(issue_id, old.url if old else "",
                                             old.reason if old else "",
                                             nature=old.nature if old else "",
                                             party=old.party if old else "")
            use.stages.update(old.stages if old else {})
            uses.append(use)
        if use is not None:
            use.held = held
            use.stopped = len(trend.stopped.get(issue_id, []))
    classify(uses)
    return uses


# ---------------------------------------------------------------- every path and kinds


def later(html: str) -> str:
    """A long table below the first screen, in the page for the page's script to build when
    the page is interactive: a browser with script parses a <noscript> as text, which costs
    a ci run's report a tenth of its time to interactive less than the tables' elements do;
    a browser without script shows it as it is."""
    return f'<noscript class="later">{html}</noscript>'


def _breakdown(records: list[dict[str, Any]]) -> str:
    breakdown = failure_breakdown(records)
    if not breakdown.counts:
        return ""
    head = "<th>stage</th>" + "".join(f"<th>{text(c)}</th>" for c in breakdown.categories)
    rows = []
    for stage in breakdown.stages:
        cells = "".join(
            f'<td class="num">{breakdown.counts.get((stage, c), "")}</td>'
            for c in breakdown.categories
        )
        rows.append(f"<tr><td>{text(stage)}</td>{cells}</tr>")
    return (
        "<h3>Failures by the stage they are charged to</h3>"
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _paths(sources: list[SourceSummary], devices: bool, records: list[dict[str, Any]]) -> str:
    blocks = []
    for source in sources:
        table = source.scorecard(devices)
        paths = sorted({str(r["path"]) for r in source.records if r.get("path")},
                       key=lambda p: (p != source.default_path, p))
        blocks.append(
            f'<div class="pathblock" data-source="{text(source.source)}"><h3>{text(source.label)}'
            f' <small>{_plural(source.cases, "case")} · {_plural(len(source.records), "result")}'
            f" · {_plural(len(paths), 'path')}: {text(', '.join(paths))}</small></h3>"
            f'<div class="scroll">{_table(table, source.group_label, False, True, "score wide")}'
            "</div></div>"
        )
    return (
        '<section id="paths"><h2>Every path <small>the default path\'s legs first</small></h2>'
        f"{later(''.join(blocks) + _breakdown(records))}</section>"
    )


def _filters(sources: list[SourceSummary]) -> str:
    options = "".join(f'<option value="{v}">has {v}</option>' for v in VERDICTS)
    source_box = ""
    if len(sources) > 1:
        source_box = (
            '<label>Source <select id="f-source"><option value="">any</option>'
            + "".join(f'<option value="{text(s.source)}">{text(s.label)}</option>'
                      for s in sources)
            + "</select></label>"
        )
    return (
        '<div class="filters" id="filters">'
        '<label>Kind <input id="f-kind" type="search" placeholder="filter by kind…" '
        'autocomplete="off"></label>'
        '<label>Verdict <select id="f-verdict"><option value="">any</option>'
        f'<option value="bad">has fail / error / xpass</option>{options}</select></label>'
        f"{source_box}"
        '<button type="button" id="f-expand">expand shown cases</button>'
        '<button type="button" id="f-collapse">collapse all</button>'
        '<span class="muted small" id="f-shown"></span></div>'
    )


def _kinds(sources: list[SourceSummary], devices: bool) -> str:
    blocks, rows = [], 0
    for source in sources:
        table = source.matrix(devices)
        rows += len(table.rows)
        verdicts = {kind: " ".join(v for v in VERDICTS if table.row_totals[kind][v])
                    for kind in table.rows}

        def attrs(kind: str, source: SourceSummary = source, verdicts: dict = verdicts) -> str:
            return (f' data-kind="{text(kind)}" data-source="{text(source.source)}" '
                    f'data-verdicts="{verdicts[kind]}"')

        title = f"<h3>{text(source.label)}</h3>" if len(sources) > 1 else ""
        blocks.append(
            f'{title}<div class="scroll">'
            f"{_table(table, 'kind', False, True, 'matrix', row_attrs=attrs)}</div>"
        )
    legend = "".join(verdict_pill(v) for v in VERDICTS)
    return (
        '<section id="kinds"><h2>Kinds × legs</h2>'
        f'<div class="legend">{legend}<span class="muted">counts of results per verdict; '
        "click a column header to sort, failing kinds first</span></div>"
        f'{_filters(sources)}<div id="matrix" data-rows="{rows}">{later("".join(blocks))}'
        "</div></section>"
    )


# ---------------------------------------------------------------- trend


def _magnitude(factor: float) -> float:
    """How many times larger or smaller; a drop from an infinite error is infinitely many."""
    if factor >= 1:
        return factor
    return 1 / factor if factor else float("inf")


def _trend(trend: Trend | None, anchors: Mapping[str, str]) -> str:
    if trend is None:
        return (
            '<section id="trend"><h2>Trend</h2><p class="muted">No previous run given '
            "(<code>parity report --previous OLD.jsonl NEW.jsonl</code>).</p></section>"
        )

    def verdict_rows(items: list) -> str:
        return "".join(
            f"<tr><td>{text(new.kind)}</td><td>{_case_link(key[0], anchors)}</td>"
            f"<td>{text(key[1])}</td>"
            f"<td>{verdict_pill(old.verdict) + ' → ' if old else ''}{verdict_pill(new.verdict)}"
            "</td></tr>"
            for key, old, new in items[:TABLE_LIMIT]
        )

    def table(title: str, items: list, head: str, rows: str) -> str:
        if not items:
            return f"<h3>{title}: none</h3>"
        more = len(items) - TABLE_LIMIT
        tail = f'<p class="muted">… and {more} more</p>' if more > 0 else ""
        return (
            f'<h3>{title}: {len(items)}</h3><div class="scroll"><table><thead><tr>{head}'
            f"</tr></thead><tbody>{rows}</tbody></table></div>{tail}"
        )

    verdict_head = "<th>kind</th><th>case</th><th>leg</th><th>verdict</th>"
    added = [(key, None, entry) for key, entry in trend.added_failing]
    stopped = [item for items in trend.stopped.values() for item in items]
    moves = "".join(
        f"<tr><td>{text(m.kind)}</td><td>{_case_link(m.case_id, anchors)}</td>"
        f'<td>{text(m.leg)}</td><td>{m.metric}</td><td class="num">{num(m.before)}</td>'
        f'<td class="num">{num(m.after)}</td>'
        f'<td class="num {"bad" if m.factor > 1 else "good"}">'
        f"{'▲' if m.factor > 1 else '▼'} ×{num(_magnitude(m.factor))}"
        "</td></tr>"
        for m in trend.moved[:TABLE_LIMIT]
    )
    move_head = (
        "<th>kind</th><th>case</th><th>leg</th><th>metric</th><th>before</th><th>now</th>"
        "<th>change</th>"
    )
    return (
        '<section id="trend"><h2>Trend against the previous run</h2>'
        f'<p class="muted">keyed by (case id, leg): {trend.added} new, {trend.removed} gone; '
        f"metrics listed when they moved by more than ×{num(trend.factor)}.</p>"
        + table("Newly failing", trend.newly_failing, verdict_head,
                verdict_rows(trend.newly_failing))
        + table("Failing in cases the previous run did not have", added, verdict_head,
                verdict_rows(added))
        + table("Fixed (failed before, no longer fail)", trend.fixed, verdict_head,
                verdict_rows(trend.fixed))
        + table("Known issues that stopped reproducing", stopped, verdict_head,
                verdict_rows(stopped))
        + table("Metrics that moved", trend.moved, move_head, moves)
        + "</section>"
    )


# ---------------------------------------------------------------- cases


def _static_blocks(cases: list[Case], anchors: Mapping[str, str]) -> dict[str, str]:
    """The failing cases rendered in full, worst first, within STATIC_CASES and STATIC_BYTES
    (the first one whatever its size)."""
    blocks: dict[str, str] = {}
    spent = 0
    for case in cases:
        if case.worst not in BAD_VERDICTS or len(blocks) == STATIC_CASES:
            break
        block = case_block(case, anchors[case.case_id])
        if blocks and spent + len(block) > STATIC_BYTES:
            break
        blocks[case.case_id] = block
        spent += len(block)
    return blocks


def _cases(cases: list[Case], static: Mapping[str, str]) -> str:
    bad = sum(1 for c in cases if c.worst in BAD_VERDICTS)
    body = "".join(static.values())
    hidden = len(cases) - len(static)
    note = (
        f'<noscript><p class="warn">The other {_plural(hidden, "case")} are listed by the page\'s '
        "script, which is off: the failures above are complete without it.</p></noscript>"
        if hidden else ""
    )
    return (
        f'<section id="cases"><h2>Cases</h2><p class="muted">{_plural(len(cases), "case")}, '
        f"{bad:,} with a failure, error or xpass; worst first. Open a case for its spec, every "
        f"leg's metrics and its reproduce command.</p>"
        f'<div id="case-list">{body}</div>{note}'
        '<p><button type="button" id="case-more" hidden>show more</button></p></section>'
    )


# ---------------------------------------------------------------- coverage


def _coverage(coverage: list[KindCoverage], documented: bool) -> str:
    """The section's frame; the script lists each kind's coverage from the data block (270
    kinds of tables of chips were 0.7 MB of HTML)."""
    note = (
        "Documented values come from the layer registry."
        if documented
        else "No documented domains given: only drawn values are listed."
    )
    ran = [c for c in coverage if c.cases]
    never = sum(c.never_drawn for c in ran)
    unrun = [c.kind for c in coverage if not c.cases]
    absent = (
        f'<p class="muted">Documented kinds with no case in these results ({len(unrun)}): '
        + text(", ".join(unrun))
        + "</p>"
        if unrun
        else ""
    )
    attributes = sum(len(c.attributes) for c in ran)
    measured = "".join(f"<li>{text(source)}: {text(reach_text(figures))}</li>"
                       for source, figures in reach().items()) if documented else ""
    reached = (f'<p>What the suites\' corpora reach of the draw code '
               f'(<code>python -m harness.tools.draw_cover</code>):</p><ul>{measured}</ul>'
               if measured else "")
    totals = (f"{_plural(len(ran), 'kind')} ran, {_plural(attributes, 'attribute')}"
              + (f', <span class="bad">{never:,} documented value(s) never drawn</span>'
                 if never else ""))
    return (
        '<section id="coverage"><h2>Coverage</h2><p class="muted">Attribute values drawn per '
        f"layer kind, counted per distinct case. {note}</p><p>{totals}.</p>{reached}"
        '<div id="coverage-list"></div><noscript><p class="warn">Each kind\'s values are listed '
        "by the page's script, which is off.</p></noscript>"
        + absent
        + "</section>"
    )


# ---------------------------------------------------------------- environment, golden, problems


def _value(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, bool)):
        return json.dumps(value, default=str)
    return str(value)


def _shards(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … {len(names) - limit} more" if len(names) > limit else "")


def _environment(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return ('<section id="environment"><h2>Environment</h2><p class="warn">No run record '
                "found: machine and versions are unknown.</p></section>")
    env: Environment = environment_once(runs)
    machine = [(label, _value(env.get(key))) for key, label in _MACHINE_FIELDS
               if key in env.common]
    hyp = env.nested("hypothesis")
    run = [
        ("shards", f"{len(env.shards)}: {_shards(env.shards)}"),
        ("run id", ", ".join(env.run_ids) or "—"),
        ("started", " … ".join(sorted({env.started[0], env.started[-1]})) if env.started
         else "—"),
        ("ONNX opset", _value(env.get("opset", "—"))),
    ]
    if hyp:
        run.append(("Hypothesis", ", ".join(f"{k} {_value(v)}" for k, v in hyp.items())))
    if "paths" in env.common:
        run.append(("paths", _value(env.get("paths"))))
    settings = [(k, _value(v)) for k, v in env.nested("environment").items()]
    known = {key for key, _ in _MACHINE_FIELDS} | set(_RUN_FIELDS)
    other = [(k, _value(v)) for k, v in env.common.items()
             if k not in known and "." not in k]
    chips = "".join(
        f'<span class="chip">{text(k)} <b>{text(v)}</b></span>'
        for k, v in sorted(env.nested("versions").items())
    )
    command = env.get("command")
    differences = ""
    if env.differences:
        rows = "".join(
            f'<tr><td rowspan="{len(d.values)}"><code>{text(d.field)}</code></td>'
            + "</tr><tr>".join(
                f"<td>{text(_value(value))}</td><td>{text(_shards(shards))}</td>"
                for value, shards in d.values
            )
            + "</tr>"
            for d in env.differences
        )
        differences = (
            f'<h3>Differs between shards <small>{_plural(len(env.differences), "field")}'
            '</small></h3><div class="scroll"><table class="diff"><thead><tr><th>field</th>'
            f"<th>value</th><th>shards</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    elif len(runs) > 1:
        differences = f'<p class="muted small">The {len(runs)} shards ran in one environment.</p>'
    return (
        '<section id="environment"><h2>Environment</h2><div class="env">'
        f'<div class="grid3">{dl(machine + other)}{dl(run)}{dl(settings) if settings else ""}'
        "</div>"
        + (f'<p class="cmd">command <code>{text(command)}</code></p>' if command else "")
        + f'<div class="versions"><span class="muted">versions</span>{chips or "—"}</div>'
        + f"{differences}</div></section>"
    )


def _problems(results: Results) -> str:
    if not results.problems and not results.duplicates:
        return ""
    items = "".join(f"<li><code>{text(p)}</code></li>" for p in results.problems[:TABLE_LIMIT])
    more = len(results.problems) - TABLE_LIMIT
    if more > 0:
        items += f"<li>… and {more} more</li>"
    dup = (
        f"<p>{results.duplicates} duplicate line(s) (read twice) were counted once.</p>"
        if results.duplicates
        else ""
    )
    head = (
        f"<p><b>{len(results.problems)} line(s) could not be read</b> and are left out:</p>"
        if results.problems
        else ""
    )
    return f'<section class="warn" id="problems">{head}<ul>{items}</ul>{dup}</section>'


def _golden(results: Results) -> str:
    """Golden replays: how many, and which were made with other framework versions."""
    replays = {r["case_id"]: as_dict(r.get("golden")) for r in results.results if r.get("golden")}
    if not replays:
        return ""
    drifted: dict[str, int] = {}
    for golden in replays.values():
        for package, change in sorted(as_dict(golden.get("drift")).items()):
            if isinstance(change, list) and len(change) == 2:
                label = f"{package} {change[0]} → {change[1]}"
                drifted[label] = drifted.get(label, 0) + 1
    if drifted:
        items = "".join(f"<li>{text(label)}: {count} cases</li>" for label, count in
                        sorted(drifted.items()))
        body = (f'<p class="warn">Expected outputs made with other versions than the ones '
                f"installed (golden version → installed):</p><ul>{items}</ul>")
    else:
        body = '<p class="muted">Every replayed case was made with the installed versions.</p>'
    return (f'<section id="golden"><h2>Golden replay</h2><p>{len(replays)} stored cases '
            f"replayed against their stored expected outputs.</p>{body}</section>")


# ---------------------------------------------------------------- the page


def _data(results: Results, verdict: str, cases: list[Case], anchors: Mapping[str, str],
          static: Mapping[str, str], coverage: list[KindCoverage], documented: bool) -> str:
    interner = Interner()
    kinds = Kinds(interner)
    entries = [
        case_entry(case.case_id, case.records, case.verdicts, interner, kinds,
                   static=case.case_id in static, anchor=anchors[case.case_id])
        for case in cases
    ]
    summary = {
        "verdict": verdict,
        "counts": dict(results.verdict_counts()),
        "results": len(results.results),
        "cases": len(cases),
        "problems": len(results.problems),
    }
    coverage_rows = coverage_data(coverage, documented, interner)
    return data_blocks(page_data(summary, entries, interner, kinds, coverage_rows))


def render_html(
    results: Results,
    previous: Results | Iterable[Mapping[str, Any]] | None = None,
    command: str | None = None,
    domains: Domains | None = None,
    factor: float = DEFAULT_FACTOR,
    default_paths: Mapping[str, str] | None = None,
) -> str:
    """The page. `default_paths` ({source: path}) names each source's default path when the
    run records do not (they name the paths a run was asked for; the first one is taken)."""
    verdict = results.overall_verdict()
    records = results.results
    cases = group_cases(records)
    anchors = {c.case_id: html_id("case-", c.case_id, i) for i, c in enumerate(cases)}
    static = _static_blocks(cases, anchors)
    coverage = compute_coverage(records, domains)
    old: list[dict[str, Any]] | None = None
    trend = None
    if previous is not None:
        old = previous.results if isinstance(previous, Results) else list(previous)
        trend = compute_trend(records, old, factor=factor)
    sources = summarise_sources(records, results.runs, default_paths)
    devices = several_devices(records)
    uses = _issue_uses(records, old, trend)
    groups = failure_groups(records)
    if trend is not None:
        left = _changes(trend, anchors, records, {u.id: u for u in uses})
        if groups:
            left += _failures(results, groups, anchors, uses, heading=False)
    else:
        left = _failures(results, groups, anchors, uses)
    title = f"Parity {verdict}: {len(records)} results"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{text(_csp())}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{text(title)}</title><style>{CSS}</style></head><body><main>"
        + _header(results, verdict, command, trend, sources)
        + f'<div class="first" id="first-screen"><div class="left">{left}</div>'
        + _scorecards(sources, devices)
        + "</div>"
        + _problems(results)
        + _known_issues(uses, trend)
        + _paths(sources, devices, records)
        + _kinds(sources, devices)
        + _trend(trend, anchors)
        + _cases(cases, static)
        + _coverage(coverage, domains is not None)
        + _golden(results)
        + _environment(results.runs)
        + "<footer>Generated by parity. Self-contained: no network access, no external "
        "assets; everything above is in this one file.</footer>"
        + _data(results, verdict, cases, anchors, static, coverage, domains is not None)
        + f"</main><script>{JS}</script></body></html>"
    )


def write_html(results: Results, out_path: str | os.PathLike[str], **options: Any) -> str:
    """Write the report, ``render_html``'s page with the same options (``previous``,
    ``command``, ``domains``, ``factor``, ``default_paths``), atomically; returns the overall
    verdict (PASS, FAIL, INCOMPLETE)."""
    atomic_write_text(out_path, render_html(results, **options))
    return results.overall_verdict()
