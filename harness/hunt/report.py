"""A hunt's report: its new groups ranked by how much they explain, as HTML and as JSON.

The JSON (``hunt.json``) is for CI: its groups are keyed by their root-cause key, which stays
the same from run to run, so that a nightly hunt's new groups show as a diff. The HTML
(``hunt.html``) is one self-contained page for the reviewer: each group with its minimal
case, its draft, its script's verdict and the command that reproduces it. Every string that
came from a model, a converter or a spec is escaped (harness.report.escape).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from harness.core.atomic import atomic_write_text
from harness.core.spec import LayerSpec, canonical_json
from harness.hunt.state import Group, State
from harness.report import escape

SCHEMA = "parity.hunt-report/1"
JSON_FILE = "hunt.json"
HTML_FILE = "hunt.html"


def ranked(groups: dict[str, Group], *, new_only: bool = False) -> list[Group]:
    """The groups (those no known issue recognises now: ``new_only``), those explaining the
    most cases (then legs) first."""
    chosen = [g for g in groups.values() if not (new_only and g.known)]
    return sorted(chosen, key=lambda g: (-g.weight[0], -g.weight[1], g.key))


def group_json(group: Group, folder: Path) -> dict[str, Any]:
    spec = group.minimal_spec or group.first_spec
    script = group.draft.get("script")
    return {
        "key": group.key, "id": group.draft.get("id"), "stage": group.stage,
        "party": group.draft.get("party"), "nature": group.draft.get("nature"),
        "source": group.source, "kind": group.kind, "category": group.category,
        "place": group.place or None, "cases": len(group.cases), "legs": sorted(group.legs),
        "message": group.message.splitlines()[0] if group.message else "",
        "minimal_spec": spec, "minimal_case_id": LayerSpec.from_json(spec).case_id,
        "shrunk": group.minimal_spec is not None, "shrink": group.shrink,
        "draft": group.draft.get("toml"), "script": script,
        "script_verdict": group.draft.get("verdict"), "script_line": group.draft.get("line"),
        "reproduce": f"python {shlex.quote(script)}" if script else None,
    }


def to_json(state: State, folder: Path, *, elapsed: float, budget: float) -> dict[str, Any]:
    return {"schema": SCHEMA, "seed": state.seed, "paths": state.paths,
            "sources": state.sources, "runs": state.runs, "budget_s": budget,
            "elapsed_s": round(elapsed, 1), "spent_s": round(state.spent_s, 1),
            "batches": state.next_batch, "cases_seen": len(state.seen),
            "counts": dict(sorted(state.counts.items())),
            "groups": [group_json(g, folder) for g in ranked(state.groups, new_only=True)],
            # groups an earlier run found that a known issue added since recognises
            "now_known": [{"key": g.key, "kind": g.kind, "stage": g.stage, "known_issue": g.known}
                          for g in ranked(state.groups) if g.known]}


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:75em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em .5em;
vertical-align:top;text-align:left}th{background:#f3f3f3}pre{background:#f7f7f7;padding:.6em;
overflow:auto;white-space:pre-wrap;margin:.3em 0}.REPRODUCED{color:#0a0;font-weight:bold}
.other{color:#a50;font-weight:bold}details{margin:.2em 0}
"""


def _row(number: int, g: dict[str, Any]) -> str:
    t = escape.text
    verdict = g["script_verdict"] or "not drafted yet"
    klass = "REPRODUCED" if verdict == "REPRODUCED" else "other"
    minimal = canonical_json(g["minimal_spec"])
    parts = [
        f"<tr><td>{number}</td><td>{g['cases']}</td><td>{len(g['legs'])}</td>",
        f"<td><b>{t(g['stage'])}</b> ({t(g['party'] or '?')}, {t(g['nature'] or '?')})</td>",
        f"<td>{t(g['source'])}:{t(g['kind'])}</td><td>{t(g['category'])}"
        f"{'<br>first diverges at ' + t(g['place']) if g['place'] else ''}</td>",
        f"<td><pre>{t(escape.truncate(g['message'], 400))}</pre>",
        f"<details><summary>minimal case {t(g['minimal_case_id'])}"
        f"{'' if g['shrunk'] else ' (not shrunk yet)'}</summary><pre>{t(minimal)}</pre>"
        f"</details>",
        f"<details><summary>legs</summary><pre>{t(chr(10).join(g['legs']))}</pre></details>",
        f"<span class=\"{klass}\">{t(verdict)}</span>",
        f"{'<pre>' + t(g['reproduce']) + '</pre>' if g['reproduce'] else ''}",
        f"{'<div>draft: ' + t(g['draft']) + '</div>' if g['draft'] else ''}</td></tr>",
    ]
    return "\n".join(parts)


def to_html(report: dict[str, Any]) -> str:
    t = escape.text
    counts = ", ".join(f"{t(k)}: {v}" for k, v in report["counts"].items())
    rows = "\n".join(_row(i, g) for i, g in enumerate(report["groups"], start=1))
    empty = "<p>No new group: every failure met was a known issue.</p>"
    known = "".join(f"<li>{t(g['kind'])} on {t(g['stage'])}: now known issue "
                    f"{t(g['known_issue'])}</li>" for g in report["now_known"])
    known = f"<p>Found earlier, known issues now:</p><ul>{known}</ul>" if known else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>parity hunt</title>
<style>{STYLE}</style></head><body>
<h1>parity hunt: {len(report['groups'])} new group(s)</h1>
<p>Seed {report['seed']}, paths {t(', '.join(report['paths']))}; {report['runs']} run(s),
{report['spent_s']} s in all, {report['cases_seen']} cases, {report['batches']} batches.
{counts}.</p>
<p>Each group is one root cause no known issue recognises: the stage blamed, the kind, the
category and the shape of its message. Review each draft (docs/hunt.md) before it goes into
harness/known_issues.d/.</p>
{'<table><tr><th>#</th><th>cases</th><th>legs</th><th>stage</th><th>kind</th>'
 '<th>category</th><th>what, minimal case, script</th></tr>' + rows + '</table>'
 if report['groups'] else empty}
{known}
</body></html>
"""


def write(state: State, folder: Path, *, elapsed: float, budget: float) -> tuple[Path, Path]:
    report = to_json(state, folder, elapsed=elapsed, budget=budget)
    json_path, html_path = folder / JSON_FILE, folder / HTML_FILE
    atomic_write_text(json_path, json.dumps(report, indent=1) + "\n")
    atomic_write_text(html_path, to_html(report))
    return json_path, html_path
