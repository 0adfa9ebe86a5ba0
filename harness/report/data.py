"""The page's data: every case once, as compact JSON that the page's script renders on demand.

A ci run holds about 12,000 results in 4,000 cases. Written out in full (every spec, every
metric of every leg, every traceback), even as compact JSON, they made a page of 5 MB. Here
a case is a row of values in a fixed field order, repeated strings (legs, stages, messages,
known issues, tolerance rules, test ids) are written once in a table and referred to by
index, and only what the page shows of a case is kept:

- a case where every leg passed keeps a one-line description of its spec, not the spec;
- a passing leg keeps its verdict, `max_abs`, `max_rel` (and a yardstick ratio when there
  is one): no histogram, indices, ULP or timing;
- a message of a leg that did not fail the run (xfail, skip) keeps its first lines, up to
  the traceback; the page says how much was cut;
- the time a case ran is kept only for cases that did not pass.

Everything left out is in results.jsonl, and `parity repro CASE_ID` rebuilds a case from it.
Numbers keep the four significant digits the page shows (a spec keeps its values exactly),
and a histogram's evenly spaced edges are two numbers. The script builds a case's HTML only
when the case is listed (its summary line) and opened (its body).

Cases whose HTML is already in the page (the first failing ones, rendered there so that
they read without script) carry only their id, kind and verdicts.

The JSON goes into the page gzip-compressed, in base64 (`pack`), as two blocks: the list
(what listing, filtering and a case's summary line need) and the details (what only an
opened case shows: its spec, inputs, test, Hypothesis seed, golden provenance, time and
reproducer), which the page unpacks when a case is first opened or the page is idle. A ci
run's specs are almost half its JSON, so the list is interactive without them.
`read_page_data(page)` reads both back and puts each case's details in its row, as the page's
script does once a case has been opened.

Shape (`parity.report-data/4`), the list block:

    {"schema", "verdict", "counts", "results", "cases", "problems",   # a summary for tools
     "strings": [str],          # a field marked (s) is an index into this list
     "objects": [any],          # a field marked (o) is an index into this list
     "verdicts": VERDICTS,      # a verdict is an index into this list, worst first
     "fields": {"case": CASE_FIELDS, "leg": LEG_FIELDS, "metrics": METRIC_FIELDS},
     "kinds": [[kind (s), family (s), source (s)]],
     "case_list": [case],       # worst first, the order the case browser lists them
     "coverage": coverage | null}
    case: a list, its values in the order of CASE_FIELDS, trailing nulls left out:
           "id", "kind" (an index into "kinds"), "legs" ([leg]; null when the case is in
           the page as HTML), "spec" (the spec when a leg did not pass, else its one-line
           description, a string), "inputs" (o), "test" (s, with "{id}" standing for the
           case id), "hypothesis" (o), "golden" (o: versions, drift), "time" (when a leg did
           not pass), "repro" (when not `parity repro <id>`), "verdicts" (only when "legs" is
           null), "anchor" (when not `case-<id>`)
    leg:  a list in the order of LEG_FIELDS, trailing nulls left out:
           "where" (o: leg, path, stage, runner, device, tolerance), "verdict", "max_abs",
           "max_rel", "yardstick" (the leg's error over the source's own float64 rounding
           error, when measured), and unless the leg passed: "metrics", "seconds";
           "category" (s), "message" (s), "cut" (characters of the message not in the page),
           "issue" (o: id, reason, url when http(s), else raw_url), "blame" (s, when not the
           leg's stage), "note" (s), "outputs", "diagnosis"
    metrics: a list in the order of METRIC_FIELDS, trailing nulls left out; "dtype" and
           "expected_dtype" (s); "expected_shape" and "expected_dtype" only where they
           differ; "nonfinite" non-zero counts only; "histogram" [counts, exact, lo, hi]
           for evenly spaced edges, else [counts, exact, edges]; "source_error" and
           "leg_error", the yardstick's two errors
    In the list block, a case's fields named in DETAIL_FIELDS are null; the details block,
    {"schema", "fields": DETAIL_FIELDS, "details": [[value in the order of DETAIL_FIELDS]]},
    holds them, a row per case in the order of "case_list", trailing nulls left out; its
    indices point into the list block's "strings" and "objects".
    coverage: {"documented": bool, "kinds": [kind coverage], "unrun": [kind]}
    kind coverage: [label (s), cases, documented values never drawn, [attribute]]
    attribute: [name (s), drawn: [value (s), cases, value (s), cases, ...], documented (0/1),
           never drawn: [value (s)], drawn but undocumented: [value (s)],
           distinct drawn values not listed]; values are canonical JSON, cut to 80 characters
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from harness.report.coverage import KindCoverage
from harness.report.escape import clean, json_for_script, safe_url, truncate
from harness.report.load import BAD_VERDICTS, VERDICTS
from harness.report.scorecard import source_of

SCHEMA = "parity.report-data/4"
MESSAGE_LIMIT = 20_000
"""Characters of a failure's message kept; a converter can dump megabytes of graph."""
SHORT_MESSAGE_LINES = 3
SHORT_MESSAGE_LIMIT = 300
"""What is kept of the message of a leg that did not fail the run: its first lines."""
DESCRIBE_LIMIT = 160
DESCRIBE_VALUE_LIMIT = 40
"""A passing case's spec in one line, each attribute value abridged past this length."""
VALUE_LIMIT = 80
"""Characters of a coverage value kept, as its chip shows it."""
VALUES_LIMIT = 40
"""Distinct drawn values listed per attribute in the coverage section."""

CASE_FIELDS = ("id", "kind", "legs", "spec", "inputs", "test", "hypothesis", "golden", "time",
               "repro", "verdicts", "anchor")
LEG_FIELDS = ("where", "verdict", "max_abs", "max_rel", "yardstick", "metrics", "seconds",
              "category", "message", "cut", "issue", "blame", "note", "outputs", "diagnosis")
METRIC_FIELDS = ("max_abs_index", "max_rel_index", "max_ulp", "mismatched", "total",
                 "required_atol", "required_rtol", "shape", "dtype", "histogram",
                 "expected_shape", "expected_dtype", "nonfinite", "source_error", "leg_error")
DETAIL_FIELDS = ("spec", "inputs", "test", "hypothesis", "golden", "time", "repro")
"""The case fields only an opened case shows: they go in the details block, which the page
unpacks when a case is first opened, not before the list is interactive."""
_DETAIL_AT = tuple(CASE_FIELDS.index(name) for name in DETAIL_FIELDS)
VERDICT_CODE = {verdict: code for code, verdict in enumerate(VERDICTS)}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def compact_number(value: Any) -> Any:
    """Four significant digits, as the page shows them; the results writer's "inf" and
    "nan" strings, integers and anything else pass unchanged. A value so near the largest
    float that four digits round it past it (float64's 1.797e308) stays as it is: rounded,
    it would be an infinity, which JSON cannot carry and the leg did not measure."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = float(f"{value:.4g}")
        return rounded if math.isfinite(rounded) else value
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


# ---------------------------------------------------------------- what is kept of a message


def short_message(message: Any) -> tuple[str, int]:
    """The first lines of a message, up to its traceback, and how many characters that
    leaves out (0 when nothing is)."""
    whole = clean(message or "").rstrip()
    kept: list[str] = []
    for line in whole.splitlines():
        if line.startswith("Traceback (most recent call last)") and kept:
            break
        kept.append(line)
        if len(kept) == SHORT_MESSAGE_LINES:
            break
    short = "\n".join(kept).rstrip()[:SHORT_MESSAGE_LIMIT]
    return short, len(whole) - len(short)


def shown_message(message: Any, verdict: str) -> tuple[str, int]:
    """What the page shows of a leg's message: all of it (up to MESSAGE_LIMIT) when the
    leg failed the run, its first lines otherwise; and the characters left out."""
    if verdict in BAD_VERDICTS:
        whole = clean(message or "").rstrip()
        return whole[:MESSAGE_LIMIT], max(0, len(whole) - MESSAGE_LIMIT)
    return short_message(message)


def cut_note(cut: int) -> str:
    return (f"… {cut:,} more characters: the full message is in results.jsonl "
            "(parity repro rebuilds the case)")


# ---------------------------------------------------------------- a spec in one line


def _short_value(value: Any) -> str:
    flat = json.dumps(_plain(value, exact=True), separators=(",", ":"), sort_keys=True,
                      default=str, ensure_ascii=False)
    if len(flat) <= DESCRIBE_VALUE_LIMIT:
        return flat
    if isinstance(value, (list, tuple)):
        return f"[…{len(value)} items]"
    if isinstance(value, Mapping):
        return f"{{…{len(value)} keys}}"
    return flat[:DESCRIBE_VALUE_LIMIT - 1] + "…"


def describe(spec: Any) -> str:
    """One line for a spec: ``Conv2D(filters=2, kernel_size=[3,3]) on [[1,5,5,3]] float32
    seed=7``, long values abridged (``nodes=[…17 items]``), at most DESCRIBE_LIMIT long."""
    if not isinstance(spec, Mapping):
        return truncate(_short_value(spec), DESCRIBE_LIMIT)
    attrs = spec.get("attrs")
    if isinstance(attrs, Mapping):
        args = ", ".join(f"{k}={_short_value(v)}" for k, v in sorted(attrs.items(),
                                                                      key=lambda kv: str(kv[0])))
    else:
        args = _short_value(attrs) if attrs is not None else ""
    source = spec.get("source")
    where = f"{source}:" if source and source != "keras" else ""
    line = f"{where}{spec.get('kind', '?')}({args})"
    if spec.get("input_shapes") is not None:
        line += f" on {_short_value(spec.get('input_shapes'))}"
    if spec.get("dtype") is not None:
        line += f" {spec['dtype']}"
    if spec.get("seed") is not None:
        line += f" seed={spec['seed']}"
    line = clean(line)
    return line if len(line) <= DESCRIBE_LIMIT else line[:DESCRIBE_LIMIT - 1] + "…"


# ---------------------------------------------------------------- legs


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


def yardstick_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The leg's yardstick ({source_error, leg_error, ratio}): a metric, or beside them."""
    return _dict(_dict(record.get("metrics")).get("yardstick")) or _dict(record.get("yardstick"))


def _metrics(metrics: dict[str, Any], yardstick: dict[str, Any],
             interner: Interner) -> list[Any]:
    values = {name: _plain(metrics.get(name)) for name in METRIC_FIELDS[:8]}
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
    values["source_error"] = _plain(yardstick.get("source_error"))
    values["leg_error"] = _plain(yardstick.get("leg_error"))
    return _row(values, METRIC_FIELDS)


def _leg(record: dict[str, Any], interner: Interner) -> list[Any]:
    verdict = record["verdict"]
    where = {name: record.get(name) for name in ("leg", "path", "stage", "runner", "device")}
    where["tolerance"] = _dict(record.get("tolerance")) or None
    leg: dict[str, Any] = {"where": interner.object(where), "verdict": VERDICT_CODE[verdict]}
    metrics = _dict(record.get("metrics"))
    leg["max_abs"] = _plain(metrics.get("max_abs"))
    leg["max_rel"] = _plain(metrics.get("max_rel"))
    yardstick = yardstick_of(record)
    leg["yardstick"] = _plain(yardstick.get("ratio"))
    if verdict != "pass":
        if metrics:
            leg["metrics"] = _metrics(metrics, yardstick, interner) or None
        timing = _dict(record.get("timing"))
        if timing:
            seconds = sum(v for v in timing.values() if isinstance(v, (int, float))
                          and not isinstance(v, bool) and math.isfinite(v))
            leg["seconds"] = float(f"{seconds:.3g}")
        outputs = record.get("outputs")
        if isinstance(outputs, list) and len(outputs) > 1:
            leg["outputs"] = [
                _plain({k: _dict(o).get(k) for k in ("shape", "max_abs", "max_rel",
                                                     "mismatch_fraction")})
                for o in outputs
            ]
    failure = _dict(record.get("failure"))
    if failure:
        message, cut = shown_message(failure.get("message"), verdict)
        leg["category"] = interner.string(failure.get("category") or "?")
        leg["message"] = interner.string(message)
        leg["cut"] = cut or None
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
        leg["note"] = interner.string(record["note"])
    if _dict(record.get("diagnosis")):
        leg["diagnosis"] = _plain(record["diagnosis"])
    return _row(leg, LEG_FIELDS)


# ---------------------------------------------------------------- cases


class Kinds:
    """(kind, family, source) triples written once; a case names its triple by index."""

    def __init__(self, interner: Interner) -> None:
        self.interner = interner
        self.rows: list[list[int]] = []
        self._index: dict[tuple[str, str, str], int] = {}

    def index(self, record: Mapping[str, Any]) -> int:
        key = (str(record["kind"]), str(record.get("family") or "other"), source_of(record))
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.rows)
            self.rows.append([self.interner.string(part) for part in key])
        return index


def case_entry(
    case_id: str,
    records: list[dict[str, Any]],
    verdicts: list[str],
    interner: Interner,
    kinds: Kinds,
    static: bool,
    anchor: str | None = None,
) -> list[Any]:
    """A case's row of CASE_FIELDS. `verdicts` are its legs' distinct verdicts, worst
    first; a `static` case (rendered in the page as HTML) carries only them."""
    first = records[0]
    entry: dict[str, Any] = {"id": clean(case_id), "kind": kinds.index(first)}
    if anchor is not None and anchor != f"case-{case_id}":
        entry["anchor"] = anchor
    if static:
        entry["verdicts"] = [VERDICT_CODE[v] for v in verdicts]
        return _row(entry, CASE_FIELDS)
    passed = all(v == "pass" for v in verdicts)
    if first.get("spec") is not None:
        spec = first["spec"]
        entry["spec"] = describe(spec) if passed else _plain(spec, exact=True)
    for name in ("inputs", "hypothesis"):
        if first.get(name):
            entry[name] = interner.object(first[name])
    golden = _dict(first.get("golden"))
    if golden:  # what the case shows of it: versions and drift (provenance has a timestamp)
        versions = _dict(_dict(golden.get("provenance")).get("versions"))
        entry["golden"] = interner.object({"versions": versions, "drift": golden.get("drift")})
    if first.get("test"):
        entry["test"] = interner.string(str(first["test"]).replace(case_id, "{id}"))
    if first.get("time") and not passed:
        entry["time"] = clean(first["time"])
    repro = first.get("repro")
    if repro and repro != f"parity repro {case_id}":
        entry["repro"] = clean(repro)
    entry["legs"] = [_leg(r, interner) for r in records]
    return _row(entry, CASE_FIELDS)


# ---------------------------------------------------------------- coverage


def coverage_data(coverage: list[KindCoverage], documented: bool,
                  interner: Interner) -> dict[str, Any]:
    """What the page's script needs to list the coverage of every kind that ran."""

    def value(v: str) -> int:
        return interner.string(v if len(v) <= VALUE_LIMIT else v[:VALUE_LIMIT - 1] + "…")

    kinds = []
    for kind in coverage:
        if not kind.cases:
            continue
        attributes = []
        for name, attribute in sorted(kind.attributes.items()):
            drawn = attribute.drawn.most_common()
            pairs: list[int] = []
            for v, n in drawn[:VALUES_LIMIT]:
                pairs += [value(v), n]
            row = {
                "name": interner.string(name),
                "drawn": pairs,
                "documented": 0 if attribute.documented is None else 1,
                "never": [value(v) for v in attribute.never_drawn] or None,
                "odd": [value(v) for v in attribute.undocumented[:VALUES_LIMIT]] or None,
                "more": max(0, len(drawn) - VALUES_LIMIT) or None,
            }
            attributes.append(_row(row, ("name", "drawn", "documented", "never", "odd", "more")))
        kinds.append([interner.string(kind.kind), kind.cases, kind.never_drawn, attributes])
    return {"documented": documented, "kinds": kinds,
            "unrun": [clean(k.kind) for k in coverage if not k.cases]}


def split_details(row: list[Any]) -> tuple[list[Any], list[Any]]:
    """A case row as the list block holds it (its body-only fields left null) and as the
    details block does (those fields in the order of DETAIL_FIELDS), trailing nulls left
    out of both."""
    listed = list(row)
    details = [listed[i] if i < len(listed) else None for i in _DETAIL_AT]
    for i in _DETAIL_AT:
        if i < len(listed):
            listed[i] = None
    for trimmed in (listed, details):
        while trimmed and trimmed[-1] is None:
            trimmed.pop()
    return listed, details


def page_data(summary: Mapping[str, Any], cases: Iterable[list[Any]], interner: Interner,
              kinds: Kinds, coverage: dict[str, Any] | None = None) -> tuple[str, str]:
    """The JSON of the page's two data blocks, the list and the details (escaped as for a
    <script>, though each goes in packed: a browser that reads it never sees markup)."""
    rows, details = [], []
    for row in cases:
        listed, detail = split_details(row)
        rows.append(listed)
        details.append(detail)
    data = dict(summary)
    data.update(schema=SCHEMA, strings=interner.strings, objects=interner.objects,
                verdicts=VERDICTS,
                fields={"case": CASE_FIELDS, "leg": LEG_FIELDS, "metrics": METRIC_FIELDS},
                kinds=kinds.rows, case_list=rows, coverage=coverage)
    return (json_for_script(data, compact=True),
            json_for_script({"schema": SCHEMA, "fields": DETAIL_FIELDS, "details": details},
                            compact=True))


# ---------------------------------------------------------------- the block in the page

BLOCK_TYPE = "application/gzip"
"""The data block's type: gzip-compressed JSON in base64. JSON this repetitive (ids, row
after row of numbers, the same keys of every spec) compresses six- to sevenfold, which pays
for base64's third over again; the page's script unpacks it with the browser's own
DecompressionStream."""
_BLOCK = re.compile(r'<script type="application/gzip" id="(parity-data|parity-details)">'
                    r'([A-Za-z0-9+/=]*)</script>')


def pack(json_text: str) -> str:
    """gzip (with no timestamp: the same data packs to the same bytes), then base64, whose
    alphabet cannot end a <script> element."""
    packed = gzip.compress(json_text.encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def unpack(block: str) -> Any:
    return json.loads(gzip.decompress(base64.b64decode(block)).decode("utf-8"))


def data_blocks(json_texts: tuple[str, str]) -> str:
    """The list block, then the details block."""
    listed, details = json_texts
    return (f'<script type="{BLOCK_TYPE}" id="parity-data">{pack(listed)}</script>'
            f'<script type="{BLOCK_TYPE}" id="parity-details">{pack(details)}</script>')


def read_page_data(page: str) -> dict[str, Any]:
    """The data of a page written by render_html, as the page's script reads it once a case
    has been opened: the list block with every case's details put back in its row."""
    blocks = {found.group(1): found.group(2) for found in _BLOCK.finditer(page)}
    if "parity-data" not in blocks:
        raise ValueError("no parity data block in this page")
    data = unpack(blocks["parity-data"])
    if "parity-details" in blocks:
        details = unpack(blocks["parity-details"])["details"]
        for row, detail in zip(data.get("case_list", []), details, strict=True):
            row.extend([None] * (len(CASE_FIELDS) - len(row)))
            for i, value in zip(_DETAIL_AT, detail):
                row[i] = value
            while row and row[-1] is None:
                row.pop()
    return data
