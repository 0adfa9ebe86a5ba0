"""``python -m harness.sources.onnx_node``: the installed onnx's node test cases.

    python -m harness.sources.onnx_node             how many parity runs, how many it leaves out and why
    python -m harness.sources.onnx_node --left-out  each case left out, with its reason
    python -m harness.sources.onnx_node --write     index.json written anew from the installed onnx
    python -m harness.sources.onnx_node --print     the installed onnx's index as JSON (generated)
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from harness.sources.onnx_node.cases import INDEX_FILE, build_index, index, write_index
from harness.sources.onnx_node.left_out import REASONS

USAGE = "usage: python -m harness.sources.onnx_node [--left-out | --write | --print]"


def main(argv: list[str]) -> int:
    if argv == ["--print"]:
        json.dump(build_index(), sys.stdout)
        return 0
    if argv == ["--write"]:
        data = write_index()
        print(f"{INDEX_FILE}: {len(data['cases'])} cases of onnx {data['onnx']}")
        return 0
    entries = index().values()
    if argv == ["--left-out"]:
        for entry in entries:
            if entry.left_out:
                print(f"{entry.name}: {entry.left_out}: {REASONS[entry.left_out]}")
        return 0
    if argv:
        print(USAGE, file=sys.stderr)
        return 2
    reasons = Counter(entry.left_out for entry in entries if entry.left_out)
    run = sum(1 for entry in entries if not entry.left_out)
    print(f"{run + sum(reasons.values())} node test cases: parity runs {run}, leaves out "
          f"{sum(reasons.values())}")
    for reason, count in reasons.most_common():
        print(f"  {count:4d} {reason}: {REASONS[reason]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
