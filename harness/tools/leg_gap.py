"""What a run's cases hold per converter leg: for each leg, the (attribute value, axis) pairs
of the cases that went down it, and those of the cases it, or a leg after it, passed: where a
fault in it would show (docs/coverage.md#per-leg). Not imported by the harness::

    python -m harness.tools.leg_gap reports/results.jsonl [--source keras] [--top 10]

``harness.tools.leg_cover`` draws the cases that close an ONNX leg's gap; this reads the gap
of any source from the records a run already made, at no cost: a pair held only by cases a
leg refuses, or fails as a known issue, tests nothing of that leg. The axis of a case is its
test's (``test_op_axis[Conv-float16]``), or its covering case's in the suite's ``cover.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from harness.core import registry
from harness.core.spec import LayerSpec
from harness.core.stages import starts_from
from harness.tools import draw_cover as dc
from harness.tools.leg_cover import operand_pairs


def cover_axes(root: Path) -> dict[str, str]:
    """{case id: axis} of every suite's covering cases (their tests name no axis)."""
    axes = {}
    for path in sorted(root.glob("suites/*/cover.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in [*data.get("cases", []), *data.get("leg_cases", [])]:
            if "axis" in entry:
                axes[LayerSpec.from_json(entry["spec"]).case_id] = entry["axis"]
    return axes


def pairs_of(record: dict[str, Any], axis: str) -> set[tuple[str, str, str, str]]:
    spec, source = record["spec"], record["source"]
    try:
        kind = registry.get(record["kind"], source)
    except KeyError:  # a user's file, or a kind this tree no longer has
        return set()
    pairs = dc.spec_pairs(kind, spec, axis)
    return pairs | operand_pairs(kind.name, spec, axis) if source == "onnx" else pairs


def gaps(records, axes: dict[str, str], source: str | None = None) -> dict[str, Any]:
    """Per leg (not a source's own reading): the pairs its cases hold, those of the cases it
    passed (it, or a leg that goes on from its artifact: a fault in tf2onnx shows in the
    onnx2torch leg after it where onnxruntime cannot run tf2onnx's model), and by kind the
    pairs held only where it did not."""
    cases: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        if record.get("record") != "result" or not isinstance(record.get("spec"), dict):
            continue
        if source is not None and record["source"] != source:
            continue
        case = cases.setdefault((record["case_id"], record.get("test") or ""),
                                {"record": record, "legs": {}})
        case["legs"][record["leg"]] = record["verdict"]
    held: dict[str, set] = defaultdict(set)
    passed: dict[str, set] = defaultdict(set)
    verdicts: dict[str, Counter] = defaultdict(Counter)
    for (case_id, test), case in cases.items():
        axis = axes.get(case_id) or dc.axis_of_test(test)
        pairs = pairs_of(case["record"], axis)
        passing = [leg for leg, verdict in case["legs"].items() if verdict == "pass"]
        for leg, verdict in case["legs"].items():
            if ">" not in leg:
                continue
            held[leg] |= pairs
            verdicts[leg][verdict] += 1
            if any(starts_from(later, leg) for later in passing):
                passed[leg] |= pairs
    figures = {}
    for leg in sorted(held):
        missing = held[leg] - passed[leg]
        by_kind = Counter(kind for kind, *_rest in missing)
        figures[leg] = {"pairs": len(held[leg]), "passed": len(passed[leg]),
                        "verdicts": dict(verdicts[leg]),
                        "gap_by_kind": dict(by_kind.most_common())}
    return figures


def read(path: Path):
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def text(figures: dict[str, Any], top: int) -> str:
    rows = []
    for leg, row in figures.items():
        share = 100 * row["passed"] / row["pairs"] if row["pairs"] else 100.0
        kinds = ", ".join(f"{kind} {n}" for kind, n in list(row["gap_by_kind"].items())[:top])
        rows.append(f"{leg}: {row['passed']} of {row['pairs']} pairs passed ({share:.1f}%)"
                    + (f"; held only where it did not pass: {kinds}" if kinds else ""))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.leg_gap",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a run's reports/results.jsonl")
    parser.add_argument("--source", default=None, help="only this source's cases")
    parser.add_argument("--top", type=int, default=10, help="kinds named per leg")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    if not args.results.is_file():
        print(f"leg_gap: no such results file: {args.results}", file=sys.stderr)
        return 2
    try:
        figures = gaps(read(args.results), cover_axes(dc.ROOT), args.source)
    except ValueError as exc:
        print(f"leg_gap: {args.results} is not a results file (JSON lines): {exc}",
              file=sys.stderr)
        return 2
    print(text(figures, args.top))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
