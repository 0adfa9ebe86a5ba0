"""The figures of a benchmark that times parity's harness against a bare script doing the same
work: the median rate of each side over the rounds, the harness' cost as the ratio of the
two, the time the cases took to draw, and the lines that print them. Light to import (no
framework), so that every benchmark can use it."""

from __future__ import annotations

import statistics


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
