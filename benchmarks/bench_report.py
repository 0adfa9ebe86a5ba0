"""How big the report is and how soon it is interactive in headless Chromium.

Builds the report of a seeded ci-sized synthetic run (about 12,000 results of every source,
against the run before it), and of any results file given, opens each from disk several
times in Debian's Chromium through Playwright, and prints its size, where its bytes go, and
the median time from navigation to interactive (the page's script sets `data-ready` when it
has unpacked its data and listed the cases). Figures are also printed as ratios, which move
less with the machine than seconds do: the time to interactive over the 1 s budget, the size
over the 2 MB budget, and the time to write the page over the time to parse the results it
comes from. Run on an otherwise idle machine:

    python benchmarks/bench_report.py [--results reports/results.jsonl] [--repeat 5]
    python benchmarks/bench_report.py --screenshot docs/report-first-screen.png
    python benchmarks/bench_report.py --breakdown reports/parity.html   # only where bytes go
    python benchmarks/bench_report.py --compare old.html new.html --repeat 7  # in turn
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report import load_results, write_html  # noqa: E402
from harness.report.data import read_page_data  # noqa: E402
from tests.report.synthetic import ci_domains, ci_records, write_jsonl  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
BUDGET_S, BUDGET_BYTES = 1.0, 2_000_000


def project_domains() -> dict | None:
    """The layer registry's documented values, as `parity report` gives them to a real run's
    report; None where the frameworks behind the registry are not installed."""
    try:
        from harness.cli import _attribute_domains
        return _attribute_domains()
    except Exception:  # noqa: BLE001  (a bare merge machine: coverage without domains)
        return None


def build(name: str, results_path: Path, previous_path: Path | None, out: Path,
          domains: dict | None) -> dict:
    started = time.perf_counter()
    for line in results_path.read_text().splitlines():
        json.loads(line)
    parse_s = time.perf_counter() - started
    results = load_results([results_path])
    previous = load_results([previous_path]) if previous_path else None
    started = time.perf_counter()
    write_html(results, out, previous=previous, command="bench", domains=domains)
    return {"name": name, "path": out, "results": len(results.results),
            "write_s": time.perf_counter() - started, "parse_s": parse_s,
            "bytes": out.stat().st_size}


SECTIONS = ("first-screen", "problems", "known-issues", "paths", "kinds", "trend", "cases",
            "coverage", "golden", "environment")


def _json_bytes(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def breakdown(path: Path) -> list[tuple[str, int]]:
    """Where a page's bytes go: each section's HTML, the data blocks packed (the list, and
    the details an opened case shows), and inside them (as JSON, before packing) their
    tables, specs and legs."""
    page = path.read_text(encoding="utf-8")
    html, blocks = page, []
    for block in ("parity-data", "parity-details"):
        start = html.find(f'<script type="application/gzip" id="{block}">')
        if start < 0:
            continue
        end = html.index("</script>", start) + len("</script>")
        blocks.append((block, end - start))
        html = html[:start] + html[end:]
    found = sorted((html.find(f'id="{name}"'), name) for name in SECTIONS
                   if f'id="{name}"' in html)
    bounds = [*found, (html.index("<footer"), "")]
    parts = [(f"html {name}", len(html[a:b].encode())) for (a, name), (b, _) in
             zip(bounds, bounds[1:], strict=False)]
    rest = len(html.encode()) - sum(n for _, n in parts)
    parts.append(("html header, style, script, footer", rest))
    names = {"parity-data": "data block: the list (gzip, base64)",
             "parity-details": "data block: the details (gzip, base64)"}
    parts += [(names[block], size) for block, size in blocks]
    data = read_page_data(page)
    fields = data["fields"]["case"]
    specs = {"full": 0, "one line": 0}
    legs = {"pass": 0, "other": 0}
    for row in data["case_list"]:
        case = dict(zip(fields, row))
        spec = case.get("spec")
        if spec is not None:
            specs["one line" if isinstance(spec, str) else "full"] += _json_bytes(spec)
        for leg in case.get("legs") or []:
            legs["pass" if data["verdicts"][leg[1]] == "pass" else "other"] += _json_bytes(leg)
    parts += [
        ("  json: specs in full (cases that did not pass)", specs["full"]),
        ("  json: specs in one line (passing cases)", specs["one line"]),
        ("  json: passing legs", legs["pass"]),
        ("  json: other legs", legs["other"]),
        ("  json: strings (messages, test ids, values)", _json_bytes(data["strings"])),
        ("  json: objects (inputs, known issues, where)", _json_bytes(data["objects"])),
        ("  json: coverage rows", _json_bytes(data["coverage"])),
        ("  json: all of it", _json_bytes(data)),
    ]
    return parts


def print_breakdown(path: Path) -> None:
    total = path.stat().st_size
    print(f"{path}: {total / 1e6:.2f} MB")
    for name, size in breakdown(path):
        print(f"  {name:52} {size / 1e6:7.3f} MB")


def open_times(browser: object, path: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector("html[data-ready]", state="attached")
        times.append(int(page.get_attribute("html", "data-ready")) / 1000)
        page.close()
    return times


def compare(pages: list[Path], repeat: int) -> None:
    """Open the pages in turn, so that the machine's drift falls on each alike."""
    from playwright.sync_api import sync_playwright

    times: dict[Path, list[float]] = {page: [] for page in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeat):
            for page in pages:
                times[page] += open_times(browser, page.resolve(), 1)
        browser.close()
    first = statistics.median(times[pages[0]])
    for page, taken in times.items():
        ready = statistics.median(taken)
        print(f"{page}: interactive after {ready * 1000:.0f} ms, {ready / first:.2f}x the "
              f"first (median of {repeat}: {', '.join(f'{t * 1000:.0f}' for t in taken)})")


def shrink(png: Path) -> None:
    """A 256-colour palette: a page of flat colours and text loses nothing a reader sees,
    and the file is small enough to commit. Skipped without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(png, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", metavar="JSONL", action="append", default=[],
                        help="also measure the report of this results file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--breakdown", metavar="HTML",
                        help="only print where this report's bytes go, and exit")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save the first screen (1400x1000) of the ci-sized report here")
    parser.add_argument("--compare", metavar="HTML", nargs="+",
                        help="only open these pages in turn, --repeat times each, each open "
                             "in a fresh context, and print their medians as ratios to the "
                             "first's (two trees' reports of one results file, say)")
    args = parser.parse_args()
    if args.breakdown:
        print_breakdown(Path(args.breakdown))
        return 0
    if args.compare:
        compare([Path(p) for p in args.compare], args.repeat)
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        now = write_jsonl(directory / "ci.jsonl", ci_records(0))
        before = write_jsonl(directory / "ci-previous.jsonl", ci_records(0, previous=True))
        reports = [build("ci-sized synthetic run", now, before, directory / "ci.html",
                         ci_domains())]
        given_domains = project_domains() if args.results else None
        for i, given in enumerate(args.results):
            reports.append(build(given, Path(given), None, directory / f"given{i}.html",
                                 given_domains))
        within = True
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for report in reports:
                times = open_times(browser, report["path"], args.repeat)
                ready = statistics.median(times)
                print(f"{report['name']}: {report['results']:,} results, "
                      f"{report['bytes'] / 1e6:.2f} MB, written in {report['write_s']:.2f} s")
                print(f"  interactive after {ready:.2f} s (median of {args.repeat}: "
                      f"{', '.join(f'{t:.2f}' for t in times)})")
                print(f"  ratios: interactive / {BUDGET_S:.0f} s budget {ready / BUDGET_S:.2f}; "
                      f"size / 2 MB budget {report['bytes'] / BUDGET_BYTES:.2f}; "
                      f"write / parse of its results {report['write_s'] / report['parse_s']:.1f}")
                within &= ready < BUDGET_S and report["bytes"] < BUDGET_BYTES
                print_breakdown(report["path"])
            if args.screenshot:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(reports[0]["path"].as_uri(), wait_until="load")
                page.wait_for_selector("html[data-ready]", state="attached")
                page.screenshot(path=args.screenshot)
                shrink(Path(args.screenshot))
                print(f"first screen -> {args.screenshot}")
            browser.close()
    print(f"budget {BUDGET_S:.0f} s and 2 MB: {'met' if within else 'MISSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
