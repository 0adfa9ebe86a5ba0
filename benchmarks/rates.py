"""The figures of a benchmark that times parity's harness against a bare script doing the same
work: the median rate of each side over the rounds, the harness' cost as the ratio of the
two, the time the cases took to draw, and the lines that print them. Light to import (no
framework), so that every benchmark can use it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path


def rate_figures(bare_rates: list[float], harness_rates: list[float], *, cases: int,
                 draw_s: float, digits: int = 3) -> dict:
    """The medians of the rounds' rates (cases per second), rounded to ``digits``, and the
    rounds themselves."""
    bare, ours = statistics.median(bare_rates), statistics.median(harness_rates)
    return {
        "bare_cases_per_s": round(bare, digits),
        "harness_cases_per_s": round(ours, digits),
        "harness_cost_ratio": round(bare / ours, 3),
        "hypothesis_draw_ms_per_case": round(1000 * draw_s / cases, 2),
        "bare_rounds": [round(r, digits) for r in bare_rates],
        "harness_rounds": [round(r, digits) for r in harness_rates],
    }


def print_rates(figures: dict, bare_label: str) -> None:
    """The rate figures as four aligned lines, the bare side named ``bare_label``."""
    print(f"  {bare_label:<17}: {figures['bare_cases_per_s']:6.2f} cases/s")
    print(f"  {'parity harness':<17}: {figures['harness_cases_per_s']:6.2f} cases/s")
    print(f"  {'harness cost':<17}: {figures['harness_cost_ratio']:6.3f}x the bare script's "
          f"time per case")
    print(f"  {'Hypothesis draws':<17}: {figures['hypothesis_draw_ms_per_case']} ms per case "
          f"(not in the loop)")


def print_stage_table(rows: dict, label: str, width: int, verdicts_heading: str) -> None:
    """Per stage or path (``label``, ``width`` wide): its cases, the first case's seconds
    (imports included), the median and mean of the rest, and the verdicts it gave."""
    print(f"{label:{width}s} {'cases':>5s} {'first s':>8s} {'median s':>9s} {'mean s':>7s}  "
          f"{verdicts_heading}")
    for name, row in rows.items():
        median = "-" if row["median_s"] is None else f"{row['median_s']:.3f}"
        mean = "-" if row["mean_s"] is None else f"{row['mean_s']:.3f}"
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(row["verdicts"].items()))
        print(f"{name:{width}s} {row['cases']:5d} {row['first_s']:8.2f} {median:>9s} "
              f"{mean:>7s}  {verdicts}")


def write_figures(figures, path) -> None:
    """The figures as JSON at ``path`` (the benchmark's --json), where one is given."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
