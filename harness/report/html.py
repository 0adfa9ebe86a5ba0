"""The self-contained HTML report: one file, no network, readable with or without script."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from harness.report.assets import CSS, JS
from harness.report.atomic import atomic_write_text
from harness.report.coverage import Domains, KindCoverage, compute_coverage
from harness.report.escape import html_id, json_for_script, safe_url, text, truncate
from harness.report.load import BAD_VERDICTS, VERDICTS, Results
from harness.report.summary import (
    Case,
    Environment,
    build_matrix,
    converter_table,
    environments,
    failing,
    failure_breakdown,
    group_cases,
    worst,
)
from harness.report.svg import growth_svg, histogram_svg
from harness.report.trend import DEFAULT_FACTOR, Trend, compute_trend

MESSAGE_LIMIT = 20_000
"""Characters of one failure message shown; a converter can dump megabytes of graph."""
TABLE_LIMIT = 300
"""Rows shown per trend table; the rest are counted."""
VALUES_LIMIT = 40
"""Distinct drawn values shown per attribute in the coverage section."""

_MACHINE_FIELDS = (
    ("host", "host"),
    ("device", "device"),
    ("cpu", "CPU"),
    ("gpu", "GPU"),
    ("platform", "platform"),
    ("python", "python"),
)


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


# ---------------------------------------------------------------- formatting helpers


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _index(value: Any) -> str:
    if isinstance(value, list):
        return text("[" + ", ".join(str(v) for v in value) + "]")
    return "" if value is None else text(value)


def _pretty_json(value: Any, indent: int = 0) -> str:
    """JSON with objects broken over lines and short lists kept on one: specs read better."""
    flat = json.dumps(value, sort_keys=True, default=str)
    if len(flat) + indent <= 88 or not isinstance(value, (dict, list)) or not value:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(str(k))}: {_pretty_json(v, indent + 2)}"
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_pretty_json(v, indent + 2)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def _verdict(verdict: str, title: str = "") -> str:
    tip = f' title="{text(title)}"' if title else ""
    return f'<span class="v v-{text(verdict)}"{tip}>{text(verdict)}</span>'


def _counts(counts: Mapping[str, int]) -> str:
    return "".join(
        f'<span class="n v-{v}" title="{v}">{counts[v]}</span>' for v in VERDICTS if counts.get(v)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    """A number, or one of the strings the results writer puts for non-finite floats."""
    if _is_number(value):
        return float(value)
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---------------------------------------------------------------- sections


def _header(results: Results, verdict: str, command: str | None) -> str:
    counts = results.verdict_counts()
    cases = len({r["case_id"] for r in results.results})
    kinds = len({r["kind"] for r in results.results})
    totals = "".join(
        f'<span class="tot v-{v}"><b>{counts[v]}</b>{v}</span>' for v in VERDICTS if counts[v]
    )
    why = {
        "PASS": "every result passed or failed only as a known issue expects",
        "FAIL": "at least one result failed, errored or passed unexpectedly (xpass)",
        "INCOMPLETE": "nothing failed, but some input could not be read or there are no results",
    }[verdict]
    parts = [
        '<header><div class="head"><h1>Parity report</h1>',
        f'<span class="overall {verdict}" id="verdict">{verdict}</span>',
        f'<span class="muted">{text(why)}</span></div>',
        f'<p class="muted">{len(results.results)} results · {cases} cases · {kinds} kinds · '
        f"{len(results.sources)} file(s) merged · report generated {text(_now())}</p>",
        f'<div class="totals">{totals}</div>',
    ]
    if command:
        parts.append(f'<p class="small muted">produced by <code>{text(command)}</code></p>')
    parts.append(
        '<nav class="toc"><a href="#environment">Environment</a><a href="#summary">Summary</a>'
        '<a href="#trend">Trend</a><a href="#cases">Cases</a><a href="#coverage">Coverage</a>'
        "</nav></header>"
    )
    return "".join(parts)


def _dl(rows: list[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in rows) + "</dl>"


def _environment(env: Environment) -> str:
    fields = env.fields
    machine = [(label, fields.get(key)) for key, label in _MACHINE_FIELDS]
    machine = [(k, "none" if v is None and k == "GPU" else v) for k, v in machine]
    machine = [(k, v) for k, v in machine if v is not None]
    known = {"hypothesis", "paths", "versions", "command", "opset"}
    known |= {key for key, _ in _MACHINE_FIELDS}
    machine += [
        (k, json.dumps(v, default=str)) for k, v in sorted(fields.items()) if k not in known
    ]
    hyp = _dict(fields.get("hypothesis"))
    run = [
        ("started", ", ".join(env.started) or "—"),
        ("shards", f"{len(env.shards)}: {', '.join(env.shards)}"),
        ("run id", ", ".join(env.run_ids) or "—"),
        ("ONNX opset", fields.get("opset", "—")),
        (
            "Hypothesis",
            f"profile {hyp.get('profile', '?')}, seed {hyp.get('seed')}, derandomize "
            f"{hyp.get('derandomize')}, max_examples {hyp.get('max_examples')}"
            if hyp
            else "—",
        ),
    ]
    if isinstance(fields.get("paths"), list):
        run.append(("paths", ", ".join(str(p) for p in fields["paths"])))
    versions = _dict(fields.get("versions"))
    chips = "".join(
        f'<span class="chip">{text(k)} <b>{text(v)}</b></span>' for k, v in sorted(versions.items())
    )
    command = fields.get("command")
    return (
        f'<div class="env"><div class="grid2">{_dl(machine)}{_dl(run)}</div>'
        + (f'<p class="cmd">command <code>{text(command)}</code></p>' if command else "")
        + f'<div class="versions"><span class="muted">versions</span>{chips or "—"}</div></div>'
    )


def _environments(results: Results) -> str:
    envs = environments(results.runs)
    intro = (
        f'<p class="muted">{len(envs)} distinct environments across {len(results.runs)} shards.</p>'
        if len(envs) > 1
        else ""
    )
    if not envs:
        cards = '<p class="warn">No run record found: machine and versions are unknown.</p>'
    else:
        cards = '<div class="envs">' + "".join(_environment(e) for e in envs) + "</div>"
    return f'<section id="environment"><h2>Environment</h2>{intro}{cards}</section>'


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


def _filters() -> str:
    options = "".join(f'<option value="{v}">has {v}</option>' for v in VERDICTS)
    return (
        '<div class="filters" id="filters">'
        '<label>Layer kind <input id="f-kind" type="search" placeholder="filter by kind…" '
        'autocomplete="off"></label>'
        '<label>Verdict <select id="f-verdict"><option value="">any</option>'
        f'<option value="bad">has fail / error / xpass</option>{options}</select></label>'
        '<button type="button" id="f-expand">expand shown cases</button>'
        '<button type="button" id="f-collapse">collapse all</button>'
        '<span class="muted small" id="f-shown"></span></div>'
    )


def _summary(results: Results) -> str:
    matrix = build_matrix(results.results)
    head = '<th data-type="text">layer kind</th>' + "".join(
        f'<th data-type="num">{text(c)}</th>' for c in matrix.columns
    )
    head += '<th data-type="num">all legs</th>'
    body = []
    for kind in matrix.kinds:
        row = matrix.rows[kind]
        verdicts = " ".join(v for v in VERDICTS if row[v])
        cells = [f'<td class="kind" data-sort="{text(kind)}">{text(kind)}</td>']
        for column in [*matrix.columns, None]:
            counts = row if column is None else matrix.cells.get((kind, column))
            if not counts:
                cells.append('<td class="cell" data-sort="-1"><span class="muted">·</span></td>')
                continue
            key = failing(counts) * 10_000_000 + sum(counts.values())
            shade = worst(v for v in counts if counts[v])
            cells.append(f'<td class="cell c-{shade}" data-sort="{key}">{_counts(counts)}</td>')
        body.append(
            f'<tr data-kind="{text(kind)}" data-verdicts="{verdicts}">{"".join(cells)}</tr>'
        )
    foot = "<td>all kinds</td>" + "".join(
        f'<td class="cell">{_counts(matrix.columns_total[c])}</td>' for c in matrix.columns
    )
    foot += f'<td class="cell">{_counts(matrix.total)}</td>'
    legend = "".join(_verdict(v) for v in VERDICTS)
    table = (
        '<div class="scroll"><table class="matrix" id="matrix">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"<tfoot><tr>{foot}</tr></tfoot></table></div>"
    )
    return (
        '<section id="summary"><h2>Summary: layer kind × leg</h2>'
        f'<div class="legend">{legend}<span class="muted">counts of results per verdict; '
        "click a column header to sort, failing kinds first</span></div>"
        f"{_filters()}{table}{_converters(results)}{_breakdown(results)}</section>"
    )


def _converters(results: Results) -> str:
    """Converters side by side: pass / xfail / fail per layer family and converter."""
    table = converter_table(results.results)
    if len(table.converters) < 2:
        return ""
    head = "<th>family</th>" + "".join(f"<th>{text(c)}</th>" for c in table.converters)
    rows = "".join(
        f"<tr><td>{text(family)}</td>"
        + "".join(f'<td class="num">{text(table.cell(family, c))}</td>'
                  for c in table.converters)
        + "</tr>"
        for family in table.families
    )
    return (
        "<h3>Converters side by side <small>(pass / xfail / fail, per leg ending in the "
        "converter)</small></h3>"
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _breakdown(results: Results) -> str:
    breakdown = failure_breakdown(results.results)
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


def _case_ids(cases: list[Case]) -> dict[str, str]:
    return {c.case_id: html_id("case-", c.case_id, i) for i, c in enumerate(cases)}


def _case_link(case_id: str, anchors: Mapping[str, str]) -> str:
    anchor = anchors.get(case_id)
    label = f"<code>{text(case_id)}</code>"
    return f'<a href="#{anchor}">{label}</a>' if anchor else label


def _magnitude(factor: float) -> float:
    """How many times larger or smaller; a drop from an infinite error is infinitely many."""
    if factor >= 1:
        return factor
    return 1 / factor if factor else math.inf


def _trend(trend: Trend | None, anchors: Mapping[str, str]) -> str:
    if trend is None:
        return (
            '<section id="trend"><h2>Trend</h2><p class="muted">No previous run given '
            "(<code>parity report --previous OLD.jsonl</code>).</p></section>"
        )

    def verdict_rows(items: list) -> str:
        rows = [
            f"<tr><td>{text(new.kind)}</td><td>{_case_link(key[0], anchors)}</td>"
            f"<td>{text(key[1])}</td>"
            f"<td>{_verdict(old.verdict)} → {_verdict(new.verdict)}</td></tr>"
            for key, old, new in items[:TABLE_LIMIT]
        ]
        return "".join(rows)

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
    moves = "".join(
        f"<tr><td>{text(m.kind)}</td><td>{_case_link(m.case_id, anchors)}</td>"
        f'<td>{text(m.leg)}</td><td>{m.metric}</td><td class="num">{_num(m.before)}</td>'
        f'<td class="num">{_num(m.after)}</td>'
        f'<td class="num {"bad" if m.factor > 1 else "good"}">'
        f"{'▲' if m.factor > 1 else '▼'} ×{_num(_magnitude(m.factor))}"
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
        f"metrics listed when they moved by more than ×{_num(trend.factor)}.</p>"
        + table(
            "Newly failing", trend.newly_failing, verdict_head, verdict_rows(trend.newly_failing)
        )
        + table(
            "Newly passing", trend.newly_passing, verdict_head, verdict_rows(trend.newly_passing)
        )
        + table("Metrics that moved", trend.moved, move_head, moves)
        + "</section>"
    )


def _leg_row(record: dict[str, Any]) -> str:
    metrics = _dict(record.get("metrics"))
    tolerance = _dict(record.get("tolerance"))
    atol, rtol = tolerance.get("atol"), tolerance.get("rtol")

    def required(name: str, allowed: Any) -> str:
        value = metrics.get(name)
        need, limit = _float(value), _float(allowed)
        exceeded = ' class="bad"' if need is not None and limit is not None and need > limit else ""
        return f"<td{exceeded}>{_num(value)}</td>"

    mismatch = "—"
    if metrics.get("total") is not None:
        fraction = metrics.get("mismatch_fraction")
        share = f" ({fraction:.2%})" if _is_number(fraction) else ""
        mismatch = f"{_num(metrics.get('mismatched'))} / {_num(metrics.get('total'))}{share}"
    timing = _dict(record.get("timing"))
    seconds = sum(v for v in timing.values() if _is_number(v))
    where = " · ".join(text(record[k]) for k in ("stage", "runner", "device") if record.get(k))
    return (
        f"<tr><td><code>{text(record['leg'])}</code><br><small>{where}</small></td>"
        f"<td>{_verdict(record['verdict'])}</td>"
        f"<td>{_num(metrics.get('max_abs'))}<br><small>{_index(metrics.get('max_abs_index'))}"
        f"</small></td><td>{_num(metrics.get('max_rel'))}<br><small>"
        f"{_index(metrics.get('max_rel_index'))}</small></td>"
        f"<td>{_num(metrics.get('max_ulp'))}</td><td>{mismatch}</td>"
        f"{required('required_atol', atol)}{required('required_rtol', rtol)}"
        f"<td>{_num(atol)} / {_num(rtol)}<br><small>{text(tolerance.get('rule', ''))}</small>"
        f"</td><td>{seconds:.3g} s</td></tr>"
    )


_LEG_HEAD = (
    "<tr><th>leg</th><th>verdict</th><th>max abs (at)</th><th>max rel (at)</th><th>ULP</th>"
    "<th>mismatched</th><th>required atol</th><th>required rtol</th><th>policy atol / rtol</th>"
    "<th>time</th></tr>"
)


def _outputs(record: dict[str, Any]) -> str:
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or len(outputs) < 2:
        return ""
    rows = "".join(
        f"<tr><td>{i}</td><td>{_index(_dict(o).get('shape'))}</td>"
        f'<td class="num">{_num(_dict(o).get("max_abs"))}</td>'
        f'<td class="num">{_num(_dict(o).get("max_rel"))}</td>'
        f'<td class="num">{_num(_dict(o).get("mismatch_fraction"))}</td></tr>'
        for i, o in enumerate(outputs)
    )
    return (
        "<h4>outputs</h4><table><thead><tr><th>#</th><th>shape</th><th>max abs</th>"
        f"<th>max rel</th><th>mismatch fraction</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _output_checks(metrics: dict[str, Any]) -> str:
    """Shape, dtype and non-finite checks; spelled out in full only where they failed."""
    shape, dtype = metrics.get("shape"), metrics.get("dtype")
    want_shape, want_dtype = metrics.get("expected_shape"), metrics.get("expected_dtype")
    lines = []
    if shape == want_shape and dtype == want_dtype:
        lines.append(f"output {_index(shape)} {text(dtype or '')}")
    else:
        for name, got, want in (("shape", shape, want_shape), ("dtype", dtype, want_dtype)):
            mark = ' class="bad"' if got != want else ""
            lines.append(f"<span{mark}>{name} {_index(got)} (expected {_index(want)})</span>")
    nonfinite = {k: v for k, v in _dict(metrics.get("nonfinite")).items() if v}
    if nonfinite:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(nonfinite.items()))
        lines.append(f'<span class="bad">non-finite: {text(counts)}</span>')
    return "<br>".join(lines)


def _leg_detail(record: dict[str, Any]) -> str:
    metrics = _dict(record.get("metrics"))
    failure = _dict(record.get("failure"))
    issue = _dict(record.get("known_issue"))
    info = []
    if failure:
        info.append(
            f"<h4>failure: {text(failure.get('category', '?'))} "
            f"at stage {text(record.get('stage', '?'))}</h4>"
            f"<pre>{text(truncate(failure.get('message', ''), MESSAGE_LIMIT))}</pre>"
        )
    if issue:
        url = safe_url(issue.get("url"))
        label = text(issue.get("id") or issue.get("url") or "known issue")
        link = f'<a href="{text(url)}" rel="noopener noreferrer">{label}</a>' if url else label
        raw = "" if url or not issue.get("url") else f" <code>{text(issue['url'])}</code>"
        info.append(f"<h4>known issue</h4><p>{link}{raw}: {text(issue.get('reason', ''))}</p>")
    blame = record.get("blame")
    if blame and blame != record.get("stage"):
        info.append(f"<p>diverged upstream, at stage <code>{text(blame)}</code></p>")
    if record.get("note"):
        info.append(f'<p class="small">{text(record["note"])}</p>')
    if metrics:
        info.append(f'<p class="small">{_output_checks(metrics)}</p>')
    info.append(_outputs(record))
    info.append(_diagnosis(_dict(record.get("diagnosis"))))
    chart = histogram_svg(metrics.get("histogram"), _dict(record.get("tolerance")).get("atol"))
    if chart:
        chart = f"<div><h4>error histogram <small>(log10 |error| bins)</small></h4>{chart}</div>"
    return (
        f'<div class="legdetail"><div><h4>{text(record["leg"])}</h4>{"".join(info)}</div>'
        f"{chart}</div>"
    )


def _diagnosis(diagnosis: dict[str, Any]) -> str:
    """The per-layer diagnosis of a failing multi-layer case (harness.diagnostics)."""
    if not diagnosis:
        return ""
    if diagnosis.get("error"):
        return f'<p class="muted">per-layer diagnosis unavailable: {text(diagnosis["error"])}</p>'
    first = _dict(diagnosis.get("first_divergence"))
    parts = ["<h4>per layer</h4>"]
    if diagnosis.get("summary"):
        parts.append(f'<p class="diag">{text(diagnosis["summary"])}</p>')
    if first:
        isolated = _dict(diagnosis.get("isolated"))
        alone = ("could not be re-run: " + str(isolated["error"]) if "error" in isolated
                 else f"{'matches' if isolated.get('passed') else 'diverges'}, "
                      f"max_abs {_num(isolated.get('max_abs'))}")
        parts.append(_dl([
            ("first diverging layer", first.get("layer")),
            ("layer kind", first.get("kind")),
            ("max_abs there", _num(first.get("max_abs"))),
            ("introduced by stage", diagnosis.get("stage") or "undetermined"),
            ("the layer alone", alone),
            ("layers mapped", f"{diagnosis.get('mapped')} of {diagnosis.get('layers')}"),
        ]))
    growth = diagnosis.get("growth") if isinstance(diagnosis.get("growth"), list) else []
    chart = growth_svg(growth)
    if chart:
        parts.append(f"<div><small>max |error| by layer, input to output</small><br>{chart}</div>")
    rows = "".join(
        f"<tr><td>{i + 1}</td><td><code>{text(row.get('layer', '?'))}</code></td>"
        f"<td>{text(row.get('kind', ''))}</td>"
        + (f"<td>{_num(row.get('max_abs'))}</td><td>{'pass' if row.get('passed') else 'fail'}"
           f"</td><td>{text(row.get('layout', ''))}</td>" if row.get("mapped") else
           f'<td colspan="3" class="muted">{text(row.get("note", "not mapped"))}</td>')
        + "</tr>"
        for i, row in enumerate(r for r in growth if isinstance(r, dict))
    )
    if rows:
        parts.append('<details><summary>every layer</summary><table class="legs"><thead><tr>'
                      "<th>#</th><th>layer</th><th>kind</th><th>max_abs</th><th>verdict</th>"
                      f"<th>layout</th></tr></thead><tbody>{rows}</tbody></table></details>")
    return "".join(parts)


def _summary_line(case: Case) -> str:
    bad = [r for r in case.records if r["verdict"] != "pass"]
    if not bad:
        return ""
    first = min(bad, key=lambda r: VERDICTS.index(r["verdict"]))
    failure = _dict(first.get("failure"))
    issue = _dict(first.get("known_issue"))
    message = failure.get("message") or issue.get("reason") or ""
    category = failure.get("category") or issue.get("id") or first["verdict"]
    line = (
        f"{category} @ {first.get('stage', '?')}: {str(message).splitlines()[0] if message else ''}"
    )
    return f'<span class="msg">{text(truncate(line, 200))}</span>'


def _case(case: Case, anchor: str) -> str:
    first = case.first
    spec = first.get("spec")
    verdicts = " ".join(case.verdicts)
    legs = "".join(_verdict(r["verdict"], r["leg"]) for r in case.records)
    inputs = first.get("inputs")
    input_items = "".join(
        f"<li><code>{_index(_dict(i).get('shape'))}</code> {text(_dict(i).get('dtype', ''))}</li>"
        for i in (inputs if isinstance(inputs, list) else [])
    )
    repro = str(first.get("repro") or f"parity repro {case.case_id}")
    paths = sorted({str(r.get("path")) for r in case.records if r.get("path")})
    hyp = _dict(first.get("hypothesis"))
    facts = [
        ("family", first.get("family")),
        ("paths", ", ".join(paths)),
        ("test", first.get("test")),
        ("hypothesis", f"profile {hyp.get('profile')}, seed {hyp.get('seed')}" if hyp else None),
        ("replay in Hypothesis", hyp.get("reproduce_failure")),
        ("time", first.get("time")),
    ]
    golden = _dict(first.get("golden"))
    if golden:
        made_with = _dict(_dict(golden.get("provenance")).get("versions"))
        facts.append(("golden, made with", ", ".join(f"{k} {v}" for k, v in made_with.items())))
        drift = _dict(golden.get("drift"))
        facts.append(("drift", ", ".join(f"{k} {v[0]} → {v[1]}" for k, v in drift.items()
                                         if isinstance(v, list) and len(v) == 2) or "none"))
    fact_html = "".join(f"<dt>{k}</dt><dd>{text(v)}</dd>" for k, v in facts if v not in (None, ""))
    details = "".join(_leg_detail(r) for r in case.records)
    return (
        f'<details class="case w-{case.worst}" id="{anchor}" data-kind="{text(case.kind)}" '
        f'data-verdicts="{verdicts}"><summary>{legs}<span class="kindname">{text(case.kind)}'
        f"</span><code>{text(case.case_id)}</code>{_summary_line(case)}</summary>"
        '<div class="body">'
        f'<div class="repro"><code>{text(repro)}</code><button type="button" class="copy" '
        f'data-copy="{text(repro)}">copy</button></div>'
        '<div class="grid2"><div><h4>spec</h4>'
        f"<pre>{text(_pretty_json(spec))}</pre></div>"
        f"<div><h4>inputs</h4><ul>{input_items or '<li>—</li>'}</ul>"
        f'<div class="env"><dl>{fact_html}</dl></div></div></div>'
        f'<h4>legs</h4><div class="scroll"><table class="legs"><thead>{_LEG_HEAD}</thead><tbody>'
        f"{''.join(_leg_row(r) for r in case.records)}</tbody></table></div>"
        f"{details}</div></details>"
    )


def _cases(cases: list[Case], anchors: Mapping[str, str]) -> str:
    bad = sum(1 for c in cases if c.worst in BAD_VERDICTS)
    body = "".join(_case(c, anchors[c.case_id]) for c in cases)
    return (
        f'<section id="cases"><h2>Cases</h2><p class="muted">{len(cases)} cases, {bad} with a '
        "failure, error or xpass; worst first. Open a case for its spec, every leg's metrics "
        f"and its reproduce command.</p>{body}</section>"
    )


def _chip(value: str, count: int | None = None, kind: str = "") -> str:
    extra = f"<i>×{count}</i>" if count is not None else ""
    return f'<span class="chip {kind}">{text(truncate(value, 80))}{extra}</span> '


def _kind_coverage(coverage: KindCoverage) -> str:
    rows = []
    for name, attribute in sorted(coverage.attributes.items()):
        drawn = attribute.drawn.most_common()
        chips = "".join(_chip(v, n) for v, n in drawn[:VALUES_LIMIT])
        if len(drawn) > VALUES_LIMIT:
            chips += f'<span class="muted">… {len(drawn) - VALUES_LIMIT} more distinct</span>'
        if attribute.documented is None:
            missing = '<span class="muted">no documented values</span>'
        elif not attribute.drawn and coverage.cases:
            missing = '<span class="bad">in no spec\'s attrs:</span> ' + "".join(
                _chip(v, kind="miss") for v in attribute.never_drawn
            )
        else:
            missing = "".join(_chip(v, kind="miss") for v in attribute.never_drawn) or "—"
        odd = "".join(_chip(v, kind="odd") for v in attribute.undocumented[:VALUES_LIMIT])
        rows.append(
            f"<tr><td><code>{text(name)}</code></td><td>{chips or '—'}</td>"
            f"<td>{missing}</td><td>{odd}</td></tr>"
        )
    never = coverage.never_drawn
    note = f', <span class="bad">{never} documented value(s) never drawn</span>' if never else ""
    return (
        f'<details class="cov"><summary><b>{text(coverage.kind)}</b> '
        f'<span class="muted">{coverage.cases} case(s), {len(coverage.attributes)} '
        f"attribute(s)</span>{note}</summary>"
        '<div class="scroll"><table><thead><tr><th>attribute</th><th>drawn values (× cases)</th>'
        "<th>never drawn</th><th>drawn but undocumented</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div></details>"
    )


def _coverage(results: Results, domains: Domains | None) -> str:
    coverage = compute_coverage(results.results, domains)
    note = (
        "Documented values come from the layer registry."
        if domains is not None
        else "No documented domains given: only drawn values are listed."
    )
    unrun = [c.kind for c in coverage if not c.cases]
    absent = (
        f'<p class="muted">Documented kinds with no case in these results ({len(unrun)}): '
        + text(", ".join(unrun))
        + "</p>"
        if unrun
        else ""
    )
    return (
        '<section id="coverage"><h2>Coverage</h2><p class="muted">Attribute values drawn per '
        f"layer kind, counted per distinct case. {note}</p>"
        + "".join(_kind_coverage(c) for c in coverage if c.cases)
        + absent
        + "</section>"
    )


def _data(results: Results, verdict: str) -> str:
    """Machine-readable summary for tools that read the page (and for its browser test)."""
    data = {
        "verdict": verdict,
        "counts": dict(results.verdict_counts()),
        "results": len(results.results),
        "cases": len({r["case_id"] for r in results.results}),
        "problems": len(results.problems),
    }
    return f'<script type="application/json" id="parity-data">{json_for_script(data)}</script>'


def _golden(results: Results) -> str:
    """Golden replays: how many, and which were made with other framework versions."""
    replays = {r["case_id"]: _dict(r.get("golden")) for r in results.results if r.get("golden")}
    if not replays:
        return ""
    drifted: dict[str, int] = {}
    for golden in replays.values():
        for package, change in sorted(_dict(golden.get("drift")).items()):
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


def render_html(
    results: Results,
    previous: Results | Iterable[Mapping[str, Any]] | None = None,
    command: str | None = None,
    domains: Domains | None = None,
    factor: float = DEFAULT_FACTOR,
) -> str:
    verdict = results.overall_verdict()
    cases = group_cases(results.results)
    anchors = _case_ids(cases)
    trend = None
    if previous is not None:
        old = previous.results if isinstance(previous, Results) else list(previous)
        trend = compute_trend(results.results, old, factor=factor)
    title = f"Parity {verdict}: {len(results.results)} results"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{text(_csp())}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{text(title)}</title><style>{CSS}</style></head><body><main>"
        + _header(results, verdict, command)
        + _problems(results)
        + _environments(results)
        + _golden(results)
        + _summary(results)
        + _trend(trend, anchors)
        + _cases(cases, anchors)
        + _coverage(results, domains)
        + "<footer>Generated by parity. Self-contained: no network access, no external "
        "assets; everything above is in this one file.</footer>"
        + _data(results, verdict)
        + f"</main><script>{JS}</script></body></html>"
    )


def write_html(
    results: Results,
    out_path: str | os.PathLike[str],
    previous: Results | Iterable[Mapping[str, Any]] | None = None,
    command: str | None = None,
    domains: Domains | None = None,
    factor: float = DEFAULT_FACTOR,
) -> str:
    """Write the report atomically; returns the overall verdict (PASS, FAIL, INCOMPLETE)."""
    atomic_write_text(out_path, render_html(results, previous, command, domains, factor))
    return results.overall_verdict()
