"""The parity report: results JSONL in; one self-contained HTML page and JUnit XML out.

Standard library only (numpy not even needed), so that a CI job that merges shards from
several machines runs without any ML framework installed.
"""

from harness.report.coverage import compute_coverage
from harness.report.html import render_html, write_html
from harness.report.junit import render_junit, write_junit
from harness.report.load import LoadProblem, Results, load_results
from harness.report.trend import compute_trend

__all__ = [
    "LoadProblem",
    "Results",
    "compute_coverage",
    "compute_trend",
    "load_results",
    "render_html",
    "render_junit",
    "write_html",
    "write_junit",
]
