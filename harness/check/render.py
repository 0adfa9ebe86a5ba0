"""The terminal table of ``parity check``."""

from __future__ import annotations

from harness.check.task import describe as describe_task
from harness.check.verdicts import NOT_APPLICABLE, deciding
from harness.sources.file.loaded import shapes_text

HEADERS = ("leg", "verdict", "max abs error", "task", "where it diverged")


MIGRATION_HEADING = ("if you move to Keras 3 (the file read by Keras 3 first; these legs do "
                     "not decide the exit status):")


def table(outcome) -> str:
    """One row per leg; a Keras-2 file's migration legs under their own heading."""
    cells = []
    for row in outcome.rows:
        verdict = row.verdict
        if row.known_issue:
            verdict += " (known)"  # the issue's id and reason follow the table
        cells.append((row.leg, verdict, row.error_text(), describe_task(row.task) or "-",
                      row.where or "-"))
    widths = [max(len(HEADERS[i]), *(len(r[i]) for r in cells)) if cells else len(HEADERS[i])
              for i in range(len(HEADERS))]
    decide = {id(row) for row in deciding(outcome.rows)}
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(HEADERS, widths)).rstrip()]
    apart = []
    for row, r in zip(outcome.rows, cells):
        line = "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
        (lines if id(row) in decide else apart).append(line)
    if apart:
        lines += ["", MIGRATION_HEADING, *apart]
    return "\n".join(lines)


def text(outcome) -> str:
    """The whole terminal answer: what was checked, the table, what to act on."""
    out = [f"{outcome.model}: {outcome.description}"]
    sizes = [shapes_text(run) for run in outcome.sizes]
    out.append("inputs: " + " then ".join(sizes))
    for note in outcome.notes:
        out.append(f"note: {note}")
    out.append("")
    out.append(table(outcome))
    details = []
    for row in outcome.rows:
        lines = []
        if row.known_issue:
            lines.append(f"known issue {row.known_issue['id']}: {row.known_issue['reason']} "
                         f"({row.known_issue['url']})")
        lines += [f"pitfall: {pitfall}" for pitfall in row.pitfalls]
        if row.note:
            lines.append(row.note)
        if not row.agrees and row.message and not row.known_issue:
            lines += row.message.splitlines()[:3]
        if lines:
            details.append(f"{row.leg}:")
            details += [f"  {line}" for line in lines]
    if details:
        out.append("")
        out += details
    if outcome.strength:  # where agreement proves little (harness.check.strength)
        out.append("")
        out += [finding.line() for finding in outcome.strength]
    out.append("")
    decide = deciding(outcome.rows)
    apart = [row for row in outcome.rows if all(row is not kept for kept in decide)]
    differing = sum(1 for row in decide if row.disagrees)
    inapplicable = sum(1 for row in decide if row.verdict == NOT_APPLICABLE)
    verdict = ("every leg agrees" if outcome.exit_code == 0 else
               f"{differing} of {len(decide)} legs do not agree")
    if inapplicable:
        verdict = ("every leg that applies agrees" if outcome.exit_code == 0 else verdict) \
            + f" ({inapplicable} not applicable)"
    if outcome.proves_nothing:
        verdict += (", on outputs that are NaN throughout in the reference: this check proves "
                    "nothing about the conversion")
    out.append(f"parity check: {verdict} ({outcome.seconds:.1f} s)")
    if apart:
        moved = sum(1 for row in apart if row.disagrees)
        out.append("parity check: after a move to Keras 3, "
                   + ("every leg agrees" if not moved else
                      f"{moved} of {len(apart)} legs do not agree")
                   + " (reported apart; not in the exit status)")
    for problem in outcome.problems:
        out.append(f"parity check: {problem}")
    if outcome.reports:
        out.append("reports: " + ", ".join(outcome.reports))
    if outcome.script:
        out.append(f"script: {outcome.script} (run it with: python {outcome.script})")
    if outcome.pinned:
        pinned = outcome.pinned
        out.append(f"pinned as {pinned['name']}: golden case {pinned['case_id']} in "
                   f"{pinned['root']} ({pinned['bytes'] / 2**20:.1f} MB); suites/golden "
                   f"replays it")
        if pinned.get("onnx_error"):
            out.append(f"  (stored without its ONNX: {pinned['onnx_error']})")
    return "\n".join(out)
