from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.svg import histogram_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_bars_labels_and_tolerance_marker() -> None:
    counts = [0] * 6 + [5, 80] + [0] * 3 + [2]
    histogram = {"edges": [float(e) for e in range(-12, 1)], "counts": counts}
    svg = parse(histogram_svg(histogram, atol=1e-5))
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"5", "80", "2", "atol"} <= set(labels)
    paths = {p.get("class"): p.get("d") for p in svg.iter(f"{SVG}path")}
    assert paths["b"].count("z") == 1  # [1e-6, 1e-5): under atol
    assert paths["bo"].count("z") == 2  # [1e-5, 1e-4) and the outlier at [1e-1, 1e0)
    assert "tol" in paths


def test_counts_in_thousands_are_shortened() -> None:
    svg = histogram_svg({"edges": [0.0, 1.0, 2.0], "counts": [1234567, 1500]})
    assert ">1.23M<" in svg and ">1.5k<" in svg


def test_malformed_histograms_do_not_raise() -> None:
    assert histogram_svg(None) == ""
    for bad in (
        {},
        {"edges": [0, 1], "counts": [1, 2]},
        {"edges": [0, float("inf")], "counts": [1]},
        {"edges": [1, 1], "counts": [1]},
        {"edges": "x", "counts": [1]},
        {"edges": [0, 1], "counts": ["a"]},
    ):
        assert "unavailable" in histogram_svg(bad)


def test_all_zero_counts() -> None:
    svg = parse(histogram_svg({"edges": [0.0, 1.0, 2.0], "counts": [0, 0]}))
    assert not [p for p in svg.iter(f"{SVG}path") if p.get("class") in ("b", "bo")]


def test_histogram_as_the_comparator_writes_it() -> None:
    edges = [round(-7 + i / 12, 3) for i in range(13)]
    svg = histogram_svg({"edges": edges, "counts": [1] * 12, "exact": 40}, atol=1e-5)
    parsed = parse(svg)
    labels = [t.text for t in parsed.iter(f"{SVG}text")]
    assert "1e-7" in labels and "1e-6" in labels  # whole decades, not fractional edges
    assert "+40 exact" in labels
    assert "atol" not in labels  # 1e-5 lies outside [1e-7, 1e-6]


def test_all_exact_says_so() -> None:
    assert "exactly equal" in histogram_svg({"edges": [], "counts": [], "exact": 12})
