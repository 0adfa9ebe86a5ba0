"""JUnit XML for CI (Jenkins, GitLab): one <testsuite> per layer kind, one <testcase> per result.

Only the elements and attributes of the common JUnit schema are used (Jenkins' junit plugin
and GitLab's parser agree on them): testsuites > testsuite > testcase > failure | error |
skipped | system-out.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from harness.core.atomic import atomic_write_text
from harness.report.escape import clean, truncate
from harness.report.load import Results
from harness.report.summary import several_devices

MESSAGE_ATTRIBUTE_LIMIT = 500
BODY_LIMIT = 20_000


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seconds(record: dict[str, Any]) -> float:
    timing = _dict(record.get("timing"))
    return sum(
        float(v) for v in timing.values() if isinstance(v, (int, float)) and not isinstance(v, bool)
    )


def metrics_text(record: dict[str, Any]) -> str:
    """The comparison of one leg in plain text, as a CI log shows it."""
    metrics, tolerance = _dict(record.get("metrics")), _dict(record.get("tolerance"))
    lines = [
        f"case {record['case_id']} ({record['kind']}) leg {record['leg']}: stage "
        f"{record.get('stage', '?')}, runner {record.get('runner', '?')}, "
        f"device {record.get('device', '?')}"
    ]
    for name in ("shape", "expected_shape", "dtype", "expected_dtype"):
        if name in metrics:
            lines.append(f"{name}: {metrics[name]}")
    for name in ("max_abs", "max_rel"):
        if name in metrics:
            lines.append(f"{name}: {metrics[name]} at {metrics.get(name + '_index')}")
    for name in ("max_ulp", "required_atol", "required_rtol"):
        if name in metrics:
            lines.append(f"{name}: {metrics[name]}")
    if "total" in metrics:
        lines.append(
            f"mismatched: {metrics.get('mismatched')} of {metrics['total']} "
            f"(fraction {metrics.get('mismatch_fraction')})"
        )
    nonfinite = {k: v for k, v in _dict(metrics.get("nonfinite")).items() if v}
    if nonfinite:
        lines.append(f"nonfinite: {nonfinite}")
    if tolerance:
        lines.append(
            f"tolerance: atol {tolerance.get('atol')} rtol {tolerance.get('rtol')} "
            f"(rule {tolerance.get('rule')})"
        )
    failure = _dict(record.get("failure"))
    if failure.get("message"):
        lines.append(f"{failure.get('category', 'failure')}: {failure['message']}")
    issue = _dict(record.get("known_issue"))
    if issue:
        lines.append(f"known issue {issue.get('id')}: {issue.get('reason')} {issue.get('url')}")
    lines.append(f"reproduce: {record.get('repro') or 'parity repro ' + record['case_id']}")
    return truncate("\n".join(str(line) for line in lines), BODY_LIMIT)


def _message(record: dict[str, Any]) -> str:
    failure, issue = _dict(record.get("failure")), _dict(record.get("known_issue"))
    verdict = record["verdict"]
    if verdict == "xpass":
        text = f"XPASS: known issue {issue.get('id', '?')} no longer reproduces; remove it"
    elif verdict == "xfail":
        text = f"XFAIL: known issue {issue.get('id', '?')}: {issue.get('reason', '')}"
    elif failure:
        first = str(failure.get("message", "")).strip().splitlines()
        text = f"{failure.get('category', verdict)} at {record.get('stage', '?')}: "
        text += first[0] if first else ""
    else:
        text = verdict
    return truncate(text, MESSAGE_ATTRIBUTE_LIMIT).replace("\n", " ")


def _testcase(suite: ET.Element, record: dict[str, Any], by_device: bool) -> str:
    name = f"{record['case_id']} {record['leg']}"
    if by_device:
        name += f" [{record.get('device', '?')}]"
    case = ET.SubElement(
        suite,
        "testcase",
        classname=clean(f"parity.{record['kind']}"),
        name=clean(name),
        time=f"{_seconds(record):.6f}",
    )
    verdict = record["verdict"]
    category = str(_dict(record.get("failure")).get("category") or verdict)
    if verdict in ("fail", "xpass"):
        element = ET.SubElement(case, "failure", message=clean(_message(record)), type=category)
    elif verdict == "error":
        element = ET.SubElement(case, "error", message=clean(_message(record)), type=category)
    elif verdict in ("xfail", "skip"):
        element = ET.SubElement(case, "skipped", message=clean(_message(record)))
    else:
        return verdict
    element.text = clean(metrics_text(record))
    return verdict


def render_junit(results: Results) -> str:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in results.results:
        by_kind[record["kind"]].append(record)
    by_device = several_devices(results.results)
    root = ET.Element("testsuites", name="parity")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for kind in sorted(by_kind):
        records = sorted(
            by_kind[kind], key=lambda r: (r["case_id"], r["leg"], str(r.get("device")))
        )
        suite = ET.SubElement(root, "testsuite", name=clean(f"parity.{kind}"))
        counts = {"tests": len(records), "failures": 0, "errors": 0, "skipped": 0}
        for record in records:
            verdict = _testcase(suite, record, by_device)
            if verdict in ("fail", "xpass"):
                counts["failures"] += 1
            elif verdict == "error":
                counts["errors"] += 1
            elif verdict in ("xfail", "skip"):
                counts["skipped"] += 1
        seconds = sum(_seconds(r) for r in records)
        total_time += seconds
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{seconds:.6f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.6f}")
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: Results, out_path: str | os.PathLike[str]) -> None:
    atomic_write_text(out_path, render_junit(results))
