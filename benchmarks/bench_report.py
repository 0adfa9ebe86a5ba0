"""How fast the report of a 1,000-case run opens in headless Chromium, and how big it is.

Builds the report from a seeded synthetic run (1,000 cases, ~3 legs each, with a previous run
for the trend), opens it from disk several times in Debian's Chromium through Playwright and
prints the median wall time to the load event. Run on an otherwise idle machine:

    python benchmarks/bench_report.py [--cases 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report import load_results, write_html  # noqa: E402
from tests.report.synthetic import domains, make_records, write_jsonl  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
BUDGET_S, BUDGET_BYTES = 2.0, 10 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        results = load_results([write_jsonl(directory / "r.jsonl", make_records(args.cases, 0))])
        previous = load_results([write_jsonl(directory / "p.jsonl", make_records(args.cases, 1))])
        out = directory / "parity.html"
        t = time.perf_counter()
        write_html(results, out, previous=previous, command="bench", domains=domains())
        build_s = time.perf_counter() - t
        size = out.stat().st_size
        loads = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.repeat):
                page = browser.new_page()
                t = time.perf_counter()
                page.goto(out.as_uri(), wait_until="load")
                loads.append(time.perf_counter() - t)
                page.close()
            browser.close()
    median = statistics.median(loads)
    print(f"{args.cases}-case report: {size / 1e6:.2f} MB, written in {build_s:.2f} s")
    print(f"  opens in {median:.2f} s (median of {args.repeat}: "
          f"{', '.join(f'{x:.2f}' for x in loads)})")
    within = median < BUDGET_S and size < BUDGET_BYTES
    print(f"  budget {BUDGET_S:.0f} s and {BUDGET_BYTES / 1e6:.0f} MB: {'met' if within else 'MISSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
