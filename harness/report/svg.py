"""The error histogram of one leg as a small inline SVG (no script, no external reference)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.report.escape import text

WIDTH, HEIGHT = 360, 120
LEFT, RIGHT, TOP, BOTTOM = 16, 16, 22, 16


def _finite(values: Any) -> list[float] | None:
    if not isinstance(values, list):
        return None
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def _power(exponent: float) -> str:
    return f"1e{exponent:.0f}" if float(exponent).is_integer() else f"1e{exponent:.1f}"


def _short(count: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= scale:
            return f"{count / scale:.3g}{suffix}"
    return f"{count:.0f}"


def histogram_svg(histogram: Any, atol: Any = None) -> str:
    """Bars over log10 |error|, each labelled with its count; a dashed line marks the policy's
    atol, and bars at or beyond it are red. Elements with no error at all (`exact`) have no
    logarithm and are counted in a label instead.

    Bar heights are log(1 + count) so that a handful of outliers, the usual story of a
    numerical bug, stays visible next to millions of tiny errors. Bars are drawn as two
    paths rather than one element each: a 1,000-case report carries thousands of these.
    """
    if not isinstance(histogram, Mapping):
        return ""
    edges, counts = _finite(histogram.get("edges")), _finite(histogram.get("counts"))
    exact = histogram.get("exact")
    exact = int(exact) if isinstance(exact, (int, float)) and exact == exact else 0
    if edges == [] and counts == [] and exact:
        return f'<p class="muted">no error: all {exact} elements are exactly equal</p>'
    if not edges or not counts or len(edges) != len(counts) + 1 or edges[-1] <= edges[0]:
        return '<p class="muted">histogram unavailable</p>'
    lo, hi = edges[0], edges[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    peak = max(math.log1p(max(c, 0)) for c in counts) or 1.0

    def x_of(edge: float) -> float:
        return LEFT + (edge - lo) / (hi - lo) * plot_w

    threshold = None
    if isinstance(atol, (int, float)) and not isinstance(atol, bool) and atol > 0:
        threshold = math.log10(atol)
    under, over, labels = [], [], []
    for i, count in enumerate(counts):
        x0, x1 = x_of(edges[i]), x_of(edges[i + 1])
        h = math.log1p(max(count, 0)) / peak * plot_h
        if h > 0:
            bar = f"M{x0 + 0.5:.0f} {base}v{-h:.0f}h{max(x1 - x0 - 1, 1):.0f}v{h:.0f}z"
            (over if threshold is not None and edges[i] >= threshold else under).append(bar)
            labels.append(
                f'<text x="{(x0 + x1) / 2:.0f}" y="{base - h - 2:.0f}">{_short(count)}</text>'
            )
    parts = [
        f'<svg class="hist" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img"><title>histogram of log10 |error|: '
        + text(", ".join(_short(max(c, 0)) for c in counts))
        + "</title>"
    ]
    for name, bars in (("b", under), ("bo", over)):
        if bars:
            parts.append(f'<path class="{name}" d="{"".join(bars)}"/>')
    parts.append(f'<g class="cn">{"".join(labels)}</g>')
    parts.append(f'<path class="ax" d="M{LEFT} {base}H{WIDTH - RIGHT}"/><g class="tk">')
    # Ticks on whole decades: the comparator's bin edges are arbitrary fractions of one.
    decades = list(range(math.ceil(lo), math.floor(hi) + 1)) or [lo, hi]
    step = max(1, math.ceil((len(decades) - 1) / 5))
    for edge in decades[::step]:
        parts.append(f'<text x="{x_of(edge):.0f}" y="{base + 12}">{_power(edge)}</text>')
    if exact:
        parts.append(f'<text x="{LEFT}" y="{TOP - 8}" class="start">+{_short(exact)} exact</text>')
    if threshold is not None and lo <= threshold <= hi:
        x = x_of(threshold)
        parts.append(f'<path class="tol" d="M{x:.0f} {TOP - 6}V{base}"/>')
        parts.append(f'<text x="{x:.0f}" y="{TOP - 8}" class="tl">atol</text>')
    parts.append("</g></svg>")
    return "".join(parts)


GROWTH_HEIGHT = 110
GROWTH_BAR = 14


def growth_svg(growth: Any) -> str:
    """The error of each layer's output against the source, layer by layer: one bar per
    layer over log10 max |error|, red where the layer exceeds its tolerance, a grey tick
    where the layer has no tensor of its own in the converted model."""
    if not isinstance(growth, list) or not growth:
        return ""
    errors = []
    for row in growth:
        value = row.get("max_abs") if isinstance(row, Mapping) and row.get("mapped") else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        errors.append(float(value) if ok and math.isfinite(value) else None)
    logs = [math.log10(e) for e in errors if e is not None and e > 0]
    lo = math.floor(min(logs)) - 1 if logs else -8.0
    hi = math.ceil(max(logs)) if logs else 0.0
    hi = max(hi, lo + 1)
    width = LEFT + RIGHT + GROWTH_BAR * len(growth)
    plot_h = GROWTH_HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    under, over, missing = [], [], []
    for i, (row, error) in enumerate(zip(growth, errors)):
        x = LEFT + i * GROWTH_BAR
        if error is None:
            missing.append(f"M{x + 2} {base}h{GROWTH_BAR - 4}")
            continue
        level = math.log10(error) if error > 0 else lo
        h = max((level - lo) / (hi - lo) * plot_h, 1.0)
        bar = f"M{x + 1} {base}v{-h:.0f}h{GROWTH_BAR - 2}v{h:.0f}z"
        (under if row.get("passed") else over).append(bar)
    title = "; ".join(
        f"{row.get('layer', '?')}: " + ("not mapped" if e is None else f"{e:.3g}")
        for row, e in zip(growth, errors) if isinstance(row, Mapping)
    )
    parts = [
        f'<svg class="growth" viewBox="0 0 {width} {GROWTH_HEIGHT}" width="{width}" '
        f'height="{GROWTH_HEIGHT}" role="img"><title>max |error| per layer: {text(title)}'
        "</title>"
    ]
    for name, bars in (("b", under), ("bo", over)):
        if bars:
            parts.append(f'<path class="{name}" d="{"".join(bars)}"/>')
    if missing:
        parts.append(f'<path class="ax" d="{"".join(missing)}"/>')
    parts.append(f'<path class="ax" d="M{LEFT} {base}H{width - RIGHT}"/><g class="tk">')
    parts.append(f'<text x="{LEFT}" y="{TOP - 8}" class="start">1e{hi:.0f}</text>')
    parts.append(f'<text x="{LEFT}" y="{base + 12}" class="start">1e{lo:.0f} · layer 1'
                 f'…{len(growth)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)
