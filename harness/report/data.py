"""The page's data: every case once, as compact JSON that the page's script renders on demand.

A ci run holds thousands of results; written out as HTML, each one a table, a histogram and a
message, they made a page of 6 MB that took seconds to lay out. Here each case is one small
object, repeated strings (legs, stages, messages, known issues, tolerance rules) are written
once in a table and referred to by index, numbers keep the four significant digits the page
shows, and a histogram's evenly spaced edges are two numbers. The script builds a case's
HTML only when the case is opened.

Cases whose HTML is already in the page (the failing ones, rendered there so that they read
without script) carry only what the case browser needs to list and filter them.

Shape (`parity.report-data/2`):

    {"schema", "verdict", "counts", "results", "cases", "problems",   # a summary for tools
     "strings": [str],          # a field marked (s) is an index into this list
     "objects": [any],          # a field marked (o) is an index into this list
     "fields": {"leg": LEG_FIELDS, "metrics": METRIC_FIELDS},
     "case_list": [case]}       # worst first, the order the case browser lists them
    case: {"id", "kind" (s), "family" (s), "source" (s), "worst", "verdicts": [verdict],
           "static": 1 | absent, and unless static: "spec", "inputs" (o), "test" (s, with
           "{id}" standing for the case id), "hypothesis" (o), "golden" (o: versions, drift), "time",
           "repro" (when not `parity repro <id>`), "legs": [leg]}
    leg:  a list, its values in the order of LEG_FIELDS, trailing nulls left out:
           "where" (o: leg, path, stage, runner, device, tolerance), "verdict", "seconds",
           "metrics", "category" (s), "message" (s), "issue" (o: id, reason, url when
           http(s), else raw_url), "blame" (s, when not the leg's stage), "note", "outputs",
           "diagnosis"
    metrics: a list in the order of METRIC_FIELDS, trailing nulls left out; "dtype" and
           "expected_dtype" (s); "expected_shape" and "expected_dtype" only where they
           differ; "nonfinite" non-zero counts only; "histogram" [counts, exact, lo, hi]
           for evenly spaced edges, else [counts, exact, edges]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from harness.report.escape import clean, json_for_script, safe_url, truncate
from harness.report.scorecard import source_of

SCHEMA = "parity.report-data/2"
MESSAGE_LIMIT = 20_000
LEG_FIELDS = ("where", "verdict", "seconds", "metrics", "category", "message", "issue",
              "blame", "note", "outputs", "diagnosis")
METRIC_FIELDS = ("max_abs", "max_abs_index", "max_rel", "max_rel_index", "max_ulp", "mismatched",
                 "total", "required_atol", "required_rtol", "shape", "dtype", "histogram",
                 "expected_shape", "expected_dtype", "nonfinite")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def compact_number(value: Any) -> Any:
    """Four significant digits, as the page shows them; the results writer's "inf" and
    "nan" strings, integers and anything else pass unchanged."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    return value


def _plain(value: Any, exact: bool = False) -> Any:
    """Free text cleaned of characters HTML cannot carry; floats shortened unless `exact`
    (a spec must read as it was drawn); infinities and NaN as the results writer spells
    them, since JSON has none."""
    kind = type(value)
    if value is None or kind is int or kind is bool:
        return value
    if kind is str:
        return clean(value)
    if kind is float:
        if not math.isfinite(value):
            return str(value)
        return value if exact else compact_number(value)
    if kind is list or kind is tuple:
        # Histogram counts and indices: the common case, and the hot one in a big run.
        if all(type(v) is int for v in value):
            return list(value)
        return [_plain(v, exact) for v in value]
    if isinstance(value, Mapping):
        return {clean(str(k)): _plain(v, exact) for k, v in value.items()}
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float):
        return _plain(float(value), exact)
    if isinstance(value, (list, tuple)):
        return [_plain(v, exact) for v in value]
    return value


class Interner:
    """Strings and JSON values written once and referred to by index."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.objects: list[Any] = []
        self._strings: dict[str, int] = {}
        self._objects: dict[str, int] = {}

    def string(self, value: Any) -> int:
        value = clean(value)
        index = self._strings.get(value)
        if index is None:
            index = self._strings[value] = len(self.strings)
            self.strings.append(value)
        return index

    def object(self, value: Any) -> int:
        value = _plain(value)
        key = json.dumps(value, sort_keys=True, default=str)
        index = self._objects.get(key)
        if index is None:
            index = self._objects[key] = len(self.objects)
            self.objects.append(value)
        return index


def _row(values: dict[str, Any], fields: tuple[str, ...]) -> list[Any]:
    """The values in the order of `fields`, trailing absent ones left out."""
    row = [values.get(name) for name in fields]
    while row and row[-1] is None:
        row.pop()
    return row


def _histogram(histogram: Any) -> list[Any] | None:
    if not isinstance(histogram, Mapping):
        return None
    edges, counts = histogram.get("edges"), histogram.get("counts")
    exact = _plain(histogram.get("exact") or 0)
    numeric = isinstance(edges, list) and all(
        isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
        for e in edges
    )
    if numeric and len(edges) > 2 and isinstance(counts, list) and len(edges) == len(counts) + 1:
        lo, hi = float(edges[0]), float(edges[-1])
        step = (hi - lo) / (len(edges) - 1)
        # The comparator's edges are evenly spaced, rounded to 3 decimals: two numbers do.
        if step > 0 and all(abs(e - (lo + i * step)) <= step / 100 for i, e in enumerate(edges)):
            return [_plain(counts), exact, lo, hi]
    return [_plain(counts), exact, _plain(edges)]


def _metrics(metrics: dict[str, Any], interner: Interner) -> list[Any]:
    values = {name: _plain(metrics.get(name)) for name in METRIC_FIELDS[:10]}
    if metrics.get("dtype") is not None:
        values["dtype"] = interner.string(metrics["dtype"])
    values["histogram"] = _histogram(metrics.get("histogram"))
    if metrics.get("expected_shape") != metrics.get("shape"):
        values["expected_shape"] = _plain(metrics.get("expected_shape"))
    if metrics.get("expected_dtype") != metrics.get("dtype"):
        values["expected_dtype"] = interner.string(metrics.get("expected_dtype"))
    nonfinite = {k: v for k, v in _dict(metrics.get("nonfinite")).items() if v}
    if nonfinite:
        values["nonfinite"] = _plain(nonfinite)
    return _row(values, METRIC_FIELDS)


def _leg(record: dict[str, Any], interner: Interner) -> list[Any]:
    where = {name: record.get(name) for name in ("leg", "path", "stage", "runner", "device")}
    where["tolerance"] = _dict(record.get("tolerance")) or None
    leg: dict[str, Any] = {"where": interner.object(where), "verdict": record["verdict"]}
    timing = _dict(record.get("timing"))
    if timing:
        seconds = sum(v for v in timing.values() if isinstance(v, (int, float))
                      and not isinstance(v, bool) and math.isfinite(v))
        leg["seconds"] = float(f"{seconds:.3g}")
    metrics = _dict(record.get("metrics"))
    if metrics:
        leg["metrics"] = _metrics(metrics, interner)
    failure = _dict(record.get("failure"))
    if failure:
        leg["category"] = interner.string(failure.get("category") or "?")
        leg["message"] = interner.string(truncate(failure.get("message") or "", MESSAGE_LIMIT))
    issue = _dict(record.get("known_issue"))
    if issue:
        # The script links only what safe_url allows; anything else is shown as text.
        url = safe_url(issue.get("url"))
        shown = {"id": issue.get("id"), "reason": issue.get("reason"), "url": url}
        if issue.get("url") and not url:
            shown["raw_url"] = str(issue["url"])
        leg["issue"] = interner.object(shown)
    if record.get("blame") and record.get("blame") != record.get("stage"):
        leg["blame"] = interner.string(record["blame"])
    if record.get("note"):
        leg["note"] = clean(record["note"])
    outputs = record.get("outputs")
    if isinstance(outputs, list) and len(outputs) > 1:
        leg["outputs"] = [
            _plain({k: _dict(o).get(k) for k in ("shape", "max_abs", "max_rel",
                                                 "mismatch_fraction")})
            for o in outputs
        ]
    if _dict(record.get("diagnosis")):
        leg["diagnosis"] = _plain(record["diagnosis"])
    return _row(leg, LEG_FIELDS)


def case_entry(
    case_id: str,
    records: list[dict[str, Any]],
    worst: str,
    verdicts: list[str],
    interner: Interner,
    static: bool,
) -> dict[str, Any]:
    first = records[0]
    entry: dict[str, Any] = {
        "id": clean(case_id),
        "kind": interner.string(first["kind"]),
        "family": interner.string(first.get("family") or "other"),
        "source": interner.string(source_of(first)),
        "worst": worst,
        "verdicts": verdicts,
    }
    if static:
        entry["static"] = 1
        return entry
    if first.get("spec") is not None:
        entry["spec"] = _plain(first["spec"], exact=True)
    for name in ("inputs", "hypothesis"):
        if first.get(name):
            entry[name] = interner.object(first[name])
    golden = _dict(first.get("golden"))
    if golden:  # what the case shows of it: versions and drift (provenance has a timestamp)
        versions = _dict(_dict(golden.get("provenance")).get("versions"))
        entry["golden"] = interner.object({"versions": versions, "drift": golden.get("drift")})
    if first.get("test"):
        entry["test"] = interner.string(str(first["test"]).replace(case_id, "{id}"))
    if first.get("time"):
        entry["time"] = clean(first["time"])
    repro = first.get("repro")
    if repro and repro != f"parity repro {case_id}":
        entry["repro"] = clean(repro)
    entry["legs"] = [_leg(r, interner) for r in records]
    return entry


def page_data(summary: Mapping[str, Any], cases: Iterable[dict[str, Any]],
              interner: Interner) -> str:
    """The JSON for the page's data block, safe inside <script>."""
    data = dict(summary)
    data.update(schema=SCHEMA, strings=interner.strings, objects=interner.objects,
                fields={"leg": LEG_FIELDS, "metrics": METRIC_FIELDS}, case_list=list(cases))
    return json_for_script(data, compact=True)
