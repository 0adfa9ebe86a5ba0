"""Case time of every ``keras.applications`` kind down every leg, with each leg's verdict.

Runs each application's simplest spec (seed 0; the case suites/applications runs) in one
process and prints a Markdown table: per leg the verdict and max |error|, and the case's
wall time (building, every conversion, every run). ``--json`` also writes one row per
application.

    python benchmarks/bench_applications.py [--paths P1,P2] [--json out.jsonl] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.core.frameworks import prepare_imports  # noqa: E402

prepare_imports()

from harness.core.tolerance import TolerancePolicy  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
from harness.sources.keras.kinds import applications  # noqa: E402

EVERY_LEG = "keras>tf2onnx>onnx2torch,keras>tf2onnx>onnx2pytorch,keras>keras-onnx>onnx2torch"


def cell(leg) -> str:
    max_abs = (leg.metrics or {}).get("max_abs")
    text = leg.verdict + (f" {max_abs:.1e}" if isinstance(max_abs, (int, float)) else "")
    if leg.known_issue:
        return text + f" ({leg.known_issue['id']})"
    return text if leg.verdict == "pass" else text + f" [{leg.category}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="applications (default: all)")
    parser.add_argument("--paths", default=EVERY_LEG)
    parser.add_argument("--json", type=Path, default=None, help="also write rows here")
    args = parser.parse_args()

    root = Path(__file__).resolve().parents[1]
    harness = Harness(args.paths, policy=TolerancePolicy.from_pyproject(root / "pyproject.toml"))
    legs = [leg for path in harness.paths for leg in path.legs()]
    legs = list(dict.fromkeys(legs))
    names = args.names or [app.name for app in applications.APPLICATIONS]
    print("| application | " + " | ".join(legs) + " | case s |")
    print("|---|" + "---|" * (len(legs) + 1))
    out = args.json.open("w") if args.json else None
    for name in names:
        started = time.perf_counter()
        case = harness.run(applications.default_spec(name))
        seconds = time.perf_counter() - started
        by_leg = {leg.leg: leg for leg in case.legs}
        cells = [cell(by_leg[leg]) if leg in by_leg else "-" for leg in legs]
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)
        if out:
            out.write(json.dumps({"application": name, "case_s": round(seconds, 2),
                                  "legs": {leg.leg: cell(leg) for leg in case.legs}}) + "\n")
    if out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
