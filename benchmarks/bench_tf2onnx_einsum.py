"""tf2onnx's einsum search, once a process against once an installation
(``harness/converters/tf2onnx_einsum.py``).

Converts the ci profile's MultiHeadAttention covering cases (suites/layers/cover.json) with
the ``tf2onnx`` stage, in a fresh process each time (tf2onnx keeps its choices per process),
alternating:

- ``searched``: nothing preloaded, tf2onnx searches each equation's letter order itself, as
  every pytest worker did before;
- ``preloaded``: the shipped table's choices preloaded (``tf2onnx_einsum.preload``).

Prints each run's CPU seconds in the conversions (``time.process_time``), the searches
tf2onnx made, the ratio preloaded/searched of the medians and the CPU model, and in each run
how many cases' node structure (op types and counts) differs from the first searched run's:
tf2onnx's own structure varies between conversions of one model in a few cases (it names
nodes after Python object ids and orders by name), so ``--rounds 2`` or more shows how often
two searched runs differ beside how often a preloaded one does.

    python benchmarks/bench_tf2onnx_einsum.py --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from harness.core.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from collections import Counter
from pathlib import Path
from harness.core.frameworks import prepare_imports
prepare_imports()
from harness.converters import ConvertOptions, get
from harness.converters import tf2onnx_einsum
from harness.core.spec import LayerSpec
from harness.sources.keras import KerasSource
mode, cover = sys.argv[1], Path(sys.argv[2])
tf2onnx_einsum.preload(tf2onnx_einsum.TABLE if mode == "preloaded" else Path("/nonexistent"))
specs = [LayerSpec.from_json(e["spec"]) for e in json.loads(cover.read_text())["cases"]
         if e.get("ci") and e["spec"]["kind"] == "MultiHeadAttention"]
source, stage, spent, shapes = KerasSource(), get("tf2onnx"), 0.0, []
for spec in specs:
    artifact = source.build(spec)
    started = time.process_time()
    try:
        proto = stage.convert(artifact, ConvertOptions()).model
        shapes.append(sorted(Counter(n.op_type for n in proto.graph.node).items()))
    except Exception as exc:
        shapes.append(type(exc).__name__)
    spent += time.process_time() - started
print(json.dumps({"cpu_s": round(spent, 2), "cases": len(specs),
                  "searched": len(tf2onnx_einsum.searched()), "structure": shapes}))
"""


def run(mode: str, cover: Path) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("PARITY_EINSUM_RECORD", None)
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(cover)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cover", type=Path, default=ROOT / "suites" / "layers" / "cover.json")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict]] = {"searched": [], "preloaded": []}
    for n in range(args.rounds):
        for mode in (("searched", "preloaded") if n % 2 == 0 else ("preloaded", "searched")):
            result = run(mode, args.cover)
            runs[mode].append(result)
            print(f"  {mode:9s} {result['cases']} cases  cpu {result['cpu_s']:7.2f} s  "
                  f"searched {result['searched']} equations", flush=True)
    median = {mode: statistics.median(r["cpu_s"] for r in results)
              for mode, results in runs.items()}
    first = runs["searched"][0]["structure"]
    differing = {mode: [sum(a != b for a, b in zip(r["structure"], first, strict=True))
                        for r in results] for mode, results in runs.items()}
    print(f"preloaded / searched: cpu {median['preloaded'] / median['searched']:.3f} "
          f"(medians {median['preloaded']:.1f} s / {median['searched']:.1f} s) on "
          f"{cpu_model()}")
    # tf2onnx names some nodes after Python object ids and orders by name: two searched
    # conversions of one model differ in a few cases too; compare the two counts.
    print(f"cases whose node structure differs from the first searched run's: "
          f"searched runs {differing['searched']}, preloaded runs {differing['preloaded']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
