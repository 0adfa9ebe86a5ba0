"""The report in a real browser: headless Chromium, through Playwright, fully offline.

Needs `pip install playwright` and a system Chromium at /usr/bin/chromium (`apt-get install
chromium`); Playwright's own browser download is never used. Skips when either is absent.

PARITY_REPORT_HTML=/path/to/parity.html also runs the generic checks on that report (the
report of a real run, say).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.report import load_results, write_html

from .conftest import hostile
from .synthetic import domains, make_records, write_jsonl

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no system Chromium at {CHROMIUM} (apt-get install chromium)"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SIZE_LIMIT = 10 * 1024 * 1024
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"


@dataclass
class Opened:
    page: object
    url: str
    load_seconds: float
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.console_errors == []
        assert self.requests == [], "the page fetched something"
        assert self.dialogs == [], "a script ran an alert"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 cases, about 3 legs each, with a previous run and the documented domains."""
    directory = tmp_path_factory.mktemp("big")
    records = make_records(cases=1000, seed=0)
    previous = make_records(cases=1000, seed=1)
    results = load_results([write_jsonl(directory / "results.jsonl", records)])
    old = load_results([write_jsonl(directory / "previous.jsonl", previous)])
    out = directory / "parity.html"
    write_html(results, out, previous=old, command="parity report", domains=domains())
    return out


def open_report(browser: object, path: Path, javascript: bool = True) -> Iterator[Opened]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    url = path.resolve().as_uri()
    opened = Opened(page, url, 0.0)
    page.on("console", lambda m: m.type == "error" and opened.console_errors.append(m.text))
    page.on("pageerror", lambda e: opened.console_errors.append(str(e)))
    page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: r.url != url and opened.requests.append(r.url))

    def route(request_route: object) -> None:
        if request_route.request.url == url:
            request_route.continue_()
        else:
            opened.requests.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    opened.load_seconds = time.perf_counter() - started
    yield opened
    context.close()


@pytest.fixture
def big(browser: object, big_report: Path) -> Iterator[Opened]:
    yield from open_report(browser, big_report)


def visible_kinds(page: object) -> list[str]:
    return page.eval_on_selector_all(
        "#matrix tbody tr:not([hidden])", "rows => rows.map(r => r.cells[0].textContent)"
    )


def test_summary_and_verdict(big: Opened) -> None:
    page = big.page
    assert page.locator("#verdict").inner_text() == "FAIL"
    assert page.locator("#matrix").is_visible()
    data = json.loads(page.locator("#parity-data").text_content())
    assert data["cases"] == 1000 and data["verdict"] == "FAIL"
    assert len(visible_kinds(page)) == 12
    assert page.locator("#filters").is_visible()
    big.assert_clean()


def test_filter_by_kind_and_verdict(big: Opened) -> None:
    page = big.page
    page.fill("#f-kind", "conv")
    kinds = visible_kinds(page)
    assert sorted(kinds) == ["Conv2D", "DepthwiseConv2D"]
    shown_cases = page.locator("details.case:not([hidden])").count()
    assert 0 < shown_cases < 1000
    kinds_of_cases = page.eval_on_selector_all(
        "details.case:not([hidden])", "cs => [...new Set(cs.map(c => c.dataset.kind))]"
    )
    assert sorted(kinds_of_cases) == ["Conv2D", "DepthwiseConv2D"]
    assert "2 of 12 kinds" in page.locator("#f-shown").inner_text()
    page.fill("#f-kind", "")
    page.select_option("#f-verdict", "xpass")
    verdicts = page.eval_on_selector_all(
        "details.case:not([hidden])", "cs => cs.map(c => c.dataset.verdicts)"
    )
    assert verdicts and all("xpass" in v.split() for v in verdicts)
    page.fill("#f-kind", "no such kind")
    assert visible_kinds(page) == []
    big.assert_clean()


def test_sorting(big: Opened) -> None:
    page = big.page
    header = page.locator("#matrix thead th").first
    header.click()
    assert visible_kinds(page) == sorted(visible_kinds(page), key=str.casefold)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert visible_kinds(page) == sorted(visible_kinds(page), key=str.casefold, reverse=True)
    last = page.locator("#matrix thead th").last  # all legs: most failures first
    last.click()
    keys = page.eval_on_selector_all(
        "#matrix tbody tr", "rows => rows.map(r => +r.cells[r.cells.length - 1].dataset.sort)"
    )
    assert keys == sorted(keys, reverse=True)
    assert last.get_attribute("aria-sort") == "descending"
    big.assert_clean()


def test_thousand_cases_open_cleanly_and_stay_small(big: Opened, big_report: Path) -> None:
    # The load time is a figure for benchmarks/bench_report.py: a timed assertion here would
    # fail whenever the machine is busy (two xdist workers running TensorFlow, say).
    size = big_report.stat().st_size
    timing = big.page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
    )
    print(
        f"\n1,000-case report: {size / 1e6:.2f} MB; load {big.load_seconds:.2f} s wall "
        f"(DOMContentLoaded {timing['dom'] / 1000:.2f} s, load event {timing['load'] / 1000:.2f} s)"
    )
    assert size < SIZE_LIMIT
    big.assert_clean()


def test_screenshots(big: Opened) -> None:
    page = big.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "parity-summary.png"))
    first_failure = page.locator("details.case.w-fail").first
    first_failure.locator("summary").click()
    assert first_failure.get_attribute("open") is not None
    first_failure.scroll_into_view_if_needed()
    page.evaluate("document.querySelector('details.case.w-fail').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "parity-case.png"))
    assert (SCREENSHOTS / "parity-summary.png").stat().st_size > 10_000
    big.assert_clean()


def test_copy_button_copies_the_repro_command(browser: object, big_report: Path) -> None:
    for opened in open_report(browser, big_report):
        page = opened.page
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        case = page.locator("details.case").first
        case.locator("summary").click()
        button = case.locator("button.copy")
        button.click()
        page.wait_for_function("document.querySelector('button.copy').textContent !== 'copy'")
        assert button.inner_text() in ("copied", "select + Ctrl+C")
        opened.assert_clean()


def test_readable_without_javascript(browser: object, big_report: Path) -> None:
    for opened in open_report(browser, big_report, javascript=False):
        page = opened.page
        assert page.locator("#verdict").inner_text() == "FAIL"
        assert page.locator("#matrix tbody tr").count() == 12
        assert not page.locator("#filters").is_visible()
        case = page.locator("details.case").first
        case.locator("summary").click()
        assert case.locator("pre").first.is_visible()
        assert opened.requests == []


def test_hostile_report_runs_no_script(browser: object, tmp_path: Path) -> None:
    records = [hostile(r) for r in make_records(cases=6, seed=3)]
    out = tmp_path / "hostile.html"
    write_html(load_results([write_jsonl(tmp_path / "h.jsonl", records)]), out)
    for opened in open_report(browser, out):
        page = opened.page
        page.locator("details.case").first.locator("summary").click()
        assert "<script>alert(1)</script>" in page.locator("body").inner_text()
        page.fill("#f-kind", "script")
        assert len(visible_kinds(page)) > 0
        opened.assert_clean()


@pytest.mark.skipif(
    not os.environ.get("PARITY_REPORT_HTML"), reason="set PARITY_REPORT_HTML to check a report"
)
def test_given_report(browser: object) -> None:
    path = Path(os.environ["PARITY_REPORT_HTML"])
    for opened in open_report(browser, path):
        page = opened.page
        assert page.locator("#verdict").inner_text() in ("PASS", "FAIL", "INCOMPLETE")
        assert page.locator("#matrix").count() == 1
        print(f"\n{path}: {path.stat().st_size / 1e6:.2f} MB, load {opened.load_seconds:.2f} s")
        assert path.stat().st_size < SIZE_LIMIT
        opened.assert_clean()
