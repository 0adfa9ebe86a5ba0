"""What a package fingerprint costs a process (harness.run.stage_cache.packages, docs/cache.md).

Each figure is one new process fingerprinting one package, nothing imported first:

- ``record``: as a run does it: RECORD's hashes for the files as installed (nothing hashed
  on a clean install), the content of any other file hashed;
- ``hashed, cold``: every code file's content hashed, nothing memoised (the worst case: a
  tree no RECORD describes, or a RECORD no file agrees with any more);
- ``hashed, warm``: the same with the hashes the cold process kept in the cache folder.

    python benchmarks/bench_fingerprints.py
    python benchmarks/bench_fingerprints.py torch numpy --repeat 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tensorflow", "torch", "onnx2torch", "onnxruntime", "keras", "tf2onnx", "onnx",
            "numpy")
CHILD = """
import importlib.metadata, json, sys, time
from pathlib import Path
from harness.run.stage_cache import packages

name, trust, memo = sys.argv[1], sys.argv[2] == "record", sys.argv[3]
if memo != "-":
    packages.MEMO.persist_in(Path(memo))
started = time.perf_counter()
dist = importlib.metadata.distribution(name)
rows = packages.record_rows(dist)
roots = packages.import_roots(dist, name, rows)
recorded = packages.recorded_hashes(dist, rows) if trust else {}
packages.code_hash(roots, recorded)
files = sum(1 for locations in roots.values() for location in locations
            for _ in packages.code_files(location))
print(json.dumps({"s": time.perf_counter() - started, "hashed": packages.MEMO.hashed,
                  "files": files, "from_record": len(recorded)}))
"""


def measure(name: str, mode: str, memo: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, name, mode, memo], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=PACKAGES)
    parser.add_argument("--repeat", type=int, default=1, help="best of N processes")
    args = parser.parse_args(argv)
    print(f"{'package':12} {'code files':>10} {'record':>10} {'hashed, cold':>14} "
          f"{'hashed, warm':>14}")
    totals = [0.0, 0.0, 0.0]
    for name in args.packages:
        with tempfile.TemporaryDirectory() as memo:
            record = min((measure(name, "record", "-") for _ in range(args.repeat)),
                         key=lambda r: r["s"])
            cold = measure(name, "hashed", memo)  # cold once: it fills the memo
            warm = min((measure(name, "hashed", memo) for _ in range(args.repeat)),
                        key=lambda r: r["s"])
        for i, figure in enumerate((record, cold, warm)):
            totals[i] += figure["s"]
        print(f"{name:12} {record['files']:>10} {record['s'] * 1000:>8.0f}ms "
              f"{cold['s'] * 1000:>12.0f}ms {warm['s'] * 1000:>12.0f}ms"
              f"   files hashed: {record['hashed']}, {cold['hashed']}, {warm['hashed']}")
    print(f"{'all':12} {'':>10} {totals[0] * 1000:>8.0f}ms {totals[1] * 1000:>12.0f}ms "
          f"{totals[2] * 1000:>12.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
