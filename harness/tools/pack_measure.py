"""Measures packing (``harness.run.packed``) on a window of the Keras covering cases: the CPU
time of running them packed, a pack of ``--size`` cases per conversion, against running
each alone, and whether both give the same verdicts (docs/coverage.md, "Packing").

    python -m harness.tools.pack_measure --ranks 500:600 --size 8
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from harness.core.frameworks import prepare_imports
from harness.core.spec import LayerSpec
from harness.cover_corpus import read
from harness.run.packed import run_packed
from harness.run.pipeline import Harness

COVER = Path("suites/layers/cover.json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="100:200", help="FIRST:LAST, the cases' ranks")
    parser.add_argument("--size", type=int, default=16, help="cases per packed model")
    parser.add_argument("--cover", type=Path, default=COVER)
    args = parser.parse_args(argv)
    prepare_imports()

    first, last = (int(n) for n in args.ranks.split(":"))
    data = read(args.cover)
    specs = [LayerSpec.from_json(e["spec"]) for e in sorted(data["cases"], key=lambda e: e["rank"])
             if first < e["rank"] <= last]
    specs = [spec for spec in specs if spec.case_id not in data.get("held", {})]
    harness = Harness()
    harness.run(specs[0])  # the frameworks' first-call costs, out of both timings
    alone: list[str] = []

    def run(spec):
        alone.append(spec.kind)
        return harness.run(spec)

    started = time.process_time()
    packed = run_packed(harness, specs, run=run, size=args.size)
    packed_cpu = time.process_time() - started
    started = time.process_time()
    unpacked = [harness.run(spec) for spec in specs]
    unpacked_cpu = time.process_time() - started
    same = all([leg.verdict for leg in a.legs] == [leg.verdict for leg in b.legs]
               for a, b in zip(packed, unpacked))
    print(f"ranks {first + 1}-{last}: {len(specs)} cases, {len(specs) - len(alone)} passed "
          f"packed (packs of {args.size}), {len(alone)} ran alone "
          f"({dict(collections.Counter(alone).most_common(6))})")
    print(f"CPU: packed {packed_cpu:.1f} s, each alone {unpacked_cpu:.1f} s "
          f"({unpacked_cpu / packed_cpu:.2f}x); same verdicts: {same}")


if __name__ == "__main__":
    main()
