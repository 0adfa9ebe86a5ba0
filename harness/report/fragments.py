"""HTML fragments shared by the page: numbers, verdict pills, and a case with every leg.

A failing case is rendered here, in full, so that it reads without script; the page's
script renders every other case from the data block when it is opened (see data.py), in
the same markup.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import Any

from harness.report.data import cut_note, shown_message, yardstick_of
from harness.report.escape import safe_url, text, truncate
from harness.report.load import VERDICTS
from harness.report.scorecard import source_label, source_of
from harness.report.summary import Case
from harness.report.svg import growth_svg, histogram_svg


def num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def index_text(value: Any) -> str:
    if isinstance(value, list):
        return text("[" + ", ".join(str(v) for v in value) + "]")
    return "" if value is None else text(value)


def pretty_json(value: Any, indent: int = 0) -> str:
    """JSON with objects broken over lines and short lists kept on one: specs read better."""
    flat = json.dumps(value, sort_keys=True, default=str)
    if len(flat) + indent <= 88 or not isinstance(value, (dict, list)) or not value:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(str(k))}: {pretty_json(v, indent + 2)}"
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{pretty_json(v, indent + 2)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def verdict_pill(verdict: str, title: str = "") -> str:
    tip = f' title="{text(title)}"' if title else ""
    return f'<span class="v v-{text(verdict)}"{tip}>{text(verdict)}</span>'


def counts_pills(counts: Mapping[str, int]) -> str:
    """Counts per verdict in coloured pills (the tables' legend names the colours)."""
    return "".join(
        f'<span class="n v-{v}">{counts[v]}</span>' for v in VERDICTS if counts.get(v)
    )


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float | None:
    """A number, or one of the strings the results writer puts for non-finite floats."""
    if is_number(value):
        return float(value)
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def dl(rows: list[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in rows) + "</dl>"


def leg_row(record: dict[str, Any]) -> str:
    metrics = as_dict(record.get("metrics"))
    tolerance = as_dict(record.get("tolerance"))
    atol, rtol = tolerance.get("atol"), tolerance.get("rtol")

    def required(name: str, allowed: Any) -> str:
        value = metrics.get(name)
        need, limit = as_float(value), as_float(allowed)
        exceeded = ' class="bad"' if need is not None and limit is not None and need > limit else ""
        return f"<td{exceeded}>{num(value)}</td>"

    mismatch = "—"
    if metrics.get("total") is not None:
        fraction = metrics.get("mismatch_fraction")
        share = f" ({fraction:.2%})" if is_number(fraction) else ""
        mismatch = f"{num(metrics.get('mismatched'))} / {num(metrics.get('total'))}{share}"
    timing = as_dict(record.get("timing"))
    seconds = sum(v for v in timing.values() if is_number(v))
    where = " · ".join(text(record[k]) for k in ("stage", "runner", "device") if record.get(k))
    return (
        f"<tr><td><code>{text(record['leg'])}</code><br><small>{where}</small></td>"
        f"<td>{verdict_pill(record['verdict'])}</td>"
        f"<td>{num(metrics.get('max_abs'))}<br><small>{index_text(metrics.get('max_abs_index'))}"
        f"</small></td><td>{num(metrics.get('max_rel'))}<br><small>"
        f"{index_text(metrics.get('max_rel_index'))}</small></td>"
        f"<td>{num(metrics.get('max_ulp'))}</td><td>{mismatch}</td>"
        f"{required('required_atol', atol)}{required('required_rtol', rtol)}"
        f"<td>{num(atol)} / {num(rtol)}<br><small>{text(tolerance.get('rule', ''))}</small>"
        f"</td><td>{seconds:.3g} s</td></tr>"
    )


LEG_HEAD = (
    "<tr><th>leg</th><th>verdict</th><th>max abs (at)</th><th>max rel (at)</th><th>ULP</th>"
    "<th>mismatched</th><th>required atol</th><th>required rtol</th><th>policy atol / rtol</th>"
    "<th>time</th></tr>"
)


def outputs_table(record: dict[str, Any]) -> str:
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or len(outputs) < 2:
        return ""
    rows = "".join(
        f"<tr><td>{i}</td><td>{index_text(as_dict(o).get('shape'))}</td>"
        f'<td class="num">{num(as_dict(o).get("max_abs"))}</td>'
        f'<td class="num">{num(as_dict(o).get("max_rel"))}</td>'
        f'<td class="num">{num(as_dict(o).get("mismatch_fraction"))}</td></tr>'
        for i, o in enumerate(outputs)
    )
    return (
        "<h4>outputs</h4><table><thead><tr><th>#</th><th>shape</th><th>max abs</th>"
        f"<th>max rel</th><th>mismatch fraction</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def output_checks(metrics: dict[str, Any]) -> str:
    """Shape, dtype and non-finite checks; spelled out in full only where they failed."""
    shape, dtype = metrics.get("shape"), metrics.get("dtype")
    want_shape, want_dtype = metrics.get("expected_shape"), metrics.get("expected_dtype")
    lines = []
    if shape == want_shape and dtype == want_dtype:
        lines.append(f"output {index_text(shape)} {text(dtype or '')}")
    else:
        for name, got, want in (("shape", shape, want_shape), ("dtype", dtype, want_dtype)):
            mark = ' class="bad"' if got != want else ""
            lines.append(f"<span{mark}>{name} {index_text(got)} (expected {index_text(want)})</span>")
    nonfinite = {k: v for k, v in as_dict(metrics.get("nonfinite")).items() if v}
    if nonfinite:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(nonfinite.items()))
        lines.append(f'<span class="bad">non-finite: {text(counts)}</span>')
    return "<br>".join(lines)


def leg_detail(record: dict[str, Any]) -> str:
    metrics = as_dict(record.get("metrics"))
    failure = as_dict(record.get("failure"))
    issue = as_dict(record.get("known_issue"))
    info = []
    if failure:
        message, cut = shown_message(failure.get("message"), record["verdict"])
        info.append(
            f"<h4>failure: {text(failure.get('category', '?'))} "
            f"at stage {text(record.get('stage', '?'))}</h4><pre>{text(message)}</pre>"
            + (f'<p class="small muted cut">{text(cut_note(cut))}</p>' if cut else "")
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
        info.append(f'<p class="small">{output_checks(metrics)}</p>')
    info.append(yardstick_line(yardstick_of(record)))
    info.append(outputs_table(record))
    info.append(diagnosis_block(as_dict(record.get("diagnosis"))))
    chart = histogram_svg(metrics.get("histogram"), as_dict(record.get("tolerance")).get("atol"))
    if chart:
        chart = f"<div><h4>error histogram <small>(log10 |error| bins)</small></h4>{chart}</div>"
    return (
        f'<div class="legdetail"><div><h4>{text(record["leg"])}</h4>{"".join(info)}</div>'
        f"{chart}</div>"
    )


def yardstick_line(yardstick: Mapping[str, Any]) -> str:
    """The leg's error over the source's own rounding error (its float64 reading)."""
    if yardstick.get("ratio") is None:
        return ""
    errors = ""
    if yardstick.get("leg_error") is not None or yardstick.get("source_error") is not None:
        errors = (f" (leg error {num(yardstick.get('leg_error'))}, source's own error "
                  f"{num(yardstick.get('source_error'))})")
    return (f'<p class="small yardstick">yardstick: ×{num(yardstick.get("ratio"))} the '
            f"source's own float64 rounding error{errors}</p>")


def diagnosis_block(diagnosis: dict[str, Any]) -> str:
    """The per-layer diagnosis of a failing multi-layer case (harness.core.diagnose)."""
    if not diagnosis:
        return ""
    if diagnosis.get("error"):
        return f'<p class="muted">per-layer diagnosis unavailable: {text(diagnosis["error"])}</p>'
    first = as_dict(diagnosis.get("first_divergence"))
    parts = ["<h4>per layer</h4>"]
    if diagnosis.get("summary"):
        parts.append(f'<p class="diag">{text(diagnosis["summary"])}</p>')
    if first:
        isolated = as_dict(diagnosis.get("isolated"))
        alone = ("could not be re-run: " + str(isolated["error"]) if "error" in isolated
                 else f"{'matches' if isolated.get('passed') else 'diverges'}, "
                      f"max_abs {num(isolated.get('max_abs'))}")
        parts.append(dl([
            ("first diverging layer", first.get("layer")),
            ("layer kind", first.get("kind")),
            ("max_abs there", num(first.get("max_abs"))),
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
        + (f"<td>{num(row.get('max_abs'))}</td><td>{'pass' if row.get('passed') else 'fail'}"
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


def summary_line(case: Case) -> str:
    bad = [r for r in case.records if r["verdict"] != "pass"]
    if not bad:
        return ""
    first = min(bad, key=lambda r: VERDICTS.index(r["verdict"]))
    failure = as_dict(first.get("failure"))
    issue = as_dict(first.get("known_issue"))
    message = failure.get("message") or issue.get("reason") or ""
    category = failure.get("category") or issue.get("id") or first["verdict"]
    line = (
        f"{category} @ {first.get('stage', '?')}: {str(message).splitlines()[0] if message else ''}"
    )
    return f'<span class="msg">{text(truncate(line, 200))}</span>'


def case_block(case: Case, anchor: str) -> str:
    first = case.first
    spec = first.get("spec")
    verdicts = " ".join(case.verdicts)
    legs = "".join(verdict_pill(r["verdict"], r["leg"]) for r in case.records)
    inputs = first.get("inputs")
    input_items = "".join(
        f"<li><code>{index_text(as_dict(i).get('shape'))}</code> "
        f"{text(as_dict(i).get('dtype', ''))}</li>"
        for i in (inputs if isinstance(inputs, list) else [])
    )
    repro = str(first.get("repro") or f"parity repro {case.case_id}")
    paths = sorted({str(r.get("path")) for r in case.records if r.get("path")})
    hyp = as_dict(first.get("hypothesis"))
    facts = [
        ("source", source_label(source_of(first))),
        ("family", first.get("family")),
        ("paths", ", ".join(paths)),
        ("test", first.get("test")),
        ("hypothesis", f"profile {hyp.get('profile')}, seed {hyp.get('seed')}" if hyp else None),
        ("replay in Hypothesis", hyp.get("reproduce_failure")),
        ("time", first.get("time")),
    ]
    golden = as_dict(first.get("golden"))
    if golden:
        made_with = as_dict(as_dict(golden.get("provenance")).get("versions"))
        facts.append(("golden, made with", ", ".join(f"{k} {v}" for k, v in made_with.items())))
        drift = as_dict(golden.get("drift"))
        facts.append(("drift", ", ".join(f"{k} {v[0]} → {v[1]}" for k, v in drift.items()
                                         if isinstance(v, list) and len(v) == 2) or "none"))
    fact_html = "".join(f"<dt>{k}</dt><dd>{text(v)}</dd>" for k, v in facts if v not in (None, ""))
    details = "".join(leg_detail(r) for r in case.records)
    return (
        f'<details class="case w-{case.worst}" id="{anchor}" data-kind="{text(case.kind)}" '
        f'data-source="{text(source_of(first))}" data-verdicts="{verdicts}"><summary>{legs}<span class="kindname">{text(case.kind)}'
        f"</span><code>{text(case.case_id)}</code>{summary_line(case)}</summary>"
        '<div class="body">'
        f'<div class="repro"><code>{text(repro)}</code><button type="button" class="copy" '
        f'data-copy="{text(repro)}">copy</button></div>'
        '<div class="grid2"><div><h4>spec</h4>'
        f"<pre>{text(pretty_json(spec))}</pre></div>"
        f"<div><h4>inputs</h4><ul>{input_items or '<li>—</li>'}</ul>"
        f'<div class="env"><dl>{fact_html}</dl></div></div></div>'
        f'<h4>legs</h4><div class="scroll"><table class="legs"><thead>{LEG_HEAD}</thead><tbody>'
        f"{''.join(leg_row(r) for r in case.records)}</tbody></table></div>"
        f"{details}</div></details>"
    )


