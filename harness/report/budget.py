"""Check a written report against its budget: size, first screen, time to interactive.

    python -m harness.report.budget reports/parity.html [--max-bytes N] [--ready-ms MS]

A ci run's report must stay under 2 MB, open in Chromium at 1400×1000 on its first screen
(the verdict, the failures or the changes since the previous run, and the default path's
scorecard, with no horizontal scrolling) and be interactive within a second. This opens the
page from disk in Debian's Chromium (/usr/bin/chromium) through Playwright, offline (any
request but the file itself is refused and counted), `--opens` times, and takes the median
time from navigation to the page's `data-ready` mark. It prints one line per check and
exits 0 when every check passes, 1 when one fails, 2 when it cannot check (no such file, no
Playwright, no Chromium).

Playwright is imported only when a page is opened: importing this module needs nothing but
Python.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
MAX_BYTES = 2_000_000
READY_MS = 1000
OPENS = 3
FIRST_SCREEN = {
    "the verdict": "#verdict",
    "the failures or the changes": "#first-screen .left > .panel h2",
    "the default path's scorecard": "#scorecards .card table",
}

EXIT_WITHIN, EXIT_OVER, EXIT_CANNOT = 0, 1, 2


@dataclass
class Check:
    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.name}: {self.detail}"


class CannotCheck(Exception):
    """The page cannot be checked here: say why in one line."""


@dataclass
class Opening:
    ready_ms: float
    errors: list[str]
    requests: list[str]
    unreadable: str | None
    outside: list[str]
    widths: tuple[int, int]


def _within(box: dict[str, float] | None) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= VIEWPORT["width"]
            and box["y"] + box["height"] <= VIEWPORT["height"])


def open_once(browser: Any, path: Path, timeout_ms: float = 30_000) -> Opening:
    """Open the page from disk in a fresh context and read what the checks need; a page that
    never becomes interactive is read as it is after `timeout_ms`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        url = path.resolve().as_uri()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))

        def route(request_route: Any) -> None:
            if request_route.request.url.split("#")[0] == url:
                request_route.continue_()
            else:
                requests.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.goto(url, wait_until="load", timeout=timeout_ms)
        try:
            page.wait_for_selector("html[data-ready]", state="attached", timeout=timeout_ms)
            ready = float(page.get_attribute("html", "data-ready") or "inf")
        except PlaywrightTimeout:
            ready = math.inf
            errors.append(f"not interactive after {timeout_ms / 1000:g} s")
        unreadable = None
        if page.locator("#data-unreadable").count():
            unreadable = page.locator("#data-unreadable").inner_text()
        outside = [name for name, selector in FIRST_SCREEN.items()
                   if not page.locator(selector).count()
                   or not _within(page.locator(selector).first.bounding_box())]
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        return Opening(ready, errors, requests, unreadable, outside, (widths[0], widths[1]))
    finally:
        context.close()


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if math.isfinite(value) else "never"


def check_report(path: str | Path, browser: Any, *, max_bytes: int = MAX_BYTES,
                 ready_ms: float = READY_MS, opens: int = OPENS) -> list[Check]:
    """Every check of the page at `path`, opened `opens` times in `browser` (Playwright's)."""
    path = Path(path)
    if not path.is_file():
        raise CannotCheck(f"{path}: no such file")
    size = path.stat().st_size
    checks = [Check("size", size < max_bytes,
                    f"{size / 1e6:.2f} MB ({size:,} bytes; budget {max_bytes / 1e6:g} MB)")]
    openings = [open_once(browser, path) for _ in range(max(1, opens))]
    first = openings[0]
    problems = sorted({*[e for o in openings for e in o.errors],
                       *[f"request {r}" for o in openings for r in o.requests]})
    checks.append(Check("offline and clean", not problems,
                        "no console error, no request" if not problems
                        else "; ".join(problems[:3])))
    if first.unreadable is not None:
        checks.append(Check("data", False, first.unreadable))
    else:
        listed = math.isfinite(first.ready_ms)
        checks.append(Check("data", listed, "unpacked and listed" if listed
                            else "not listed: the page's script did not finish"))
    checks.append(Check("first screen", not first.outside,
                        "verdict, failures or changes, and scorecard within 1400×1000"
                        if not first.outside else "not within the first screen: "
                        + ", ".join(first.outside)))
    scroll, client = first.widths
    checks.append(Check("no horizontal scrolling", scroll <= client,
                        f"page {scroll} px wide in a {client} px window"))
    times = [o.ready_ms for o in openings]
    ready = statistics.median(times)
    checks.append(Check("interactive", ready < ready_ms,
                        f"{_ms(ready)}, median of {len(times)} opens "
                        f"({', '.join(_ms(t) for t in times)}; budget {ready_ms:.0f} ms)"))
    return checks


def _launch() -> tuple[Any, Callable[[], None]]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise CannotCheck("playwright is not installed (pip install playwright)") from exc
    if not CHROMIUM.exists():
        raise CannotCheck(f"no system Chromium at {CHROMIUM} (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        raise CannotCheck(f"Chromium did not start: {str(exc).splitlines()[0]}") from exc

    def close() -> None:
        browser.close()
        playwright.stop()

    return browser, close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.report.budget",
        description="Check a parity report against its budget: size, first screen at "
                    "1400x1000 in Chromium, time to interactive. Exit status 0 within budget, "
                    "1 over it, 2 when it cannot be checked.")
    parser.add_argument("report", metavar="HTML", help="the report to check, e.g. "
                                                       "reports/parity.html")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES,
                        help="size budget in bytes (default: %(default)s)")
    parser.add_argument("--ready-ms", type=float, default=READY_MS,
                        help="time-to-interactive budget in ms (default: %(default)s)")
    parser.add_argument("--opens", type=int, default=OPENS,
                        help="times to open the page; the median time counts "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if not Path(args.report).is_file():
            raise CannotCheck(f"{args.report}: no such file")
        browser, close = _launch()
        try:
            checks = check_report(args.report, browser, max_bytes=args.max_bytes,
                                  ready_ms=args.ready_ms, opens=args.opens)
        finally:
            close()
    except CannotCheck as exc:
        print(f"parity report budget: cannot check: {exc}", file=sys.stderr)
        return EXIT_CANNOT
    for check in checks:
        print(f"parity report budget: {check}")
    failed = [c.name for c in checks if not c.passed]
    print(f"parity report budget: {args.report}: "
          + ("within budget" if not failed else "OVER BUDGET (" + ", ".join(failed) + ")"))
    return EXIT_OVER if failed else EXIT_WITHIN


if __name__ == "__main__":
    sys.exit(main())
