"""Nothing from a results file can add markup, script or a network fetch to the page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from harness.report import load_results, render_html, write_junit
from harness.report.data import read_page_data
from harness.report.escape import json_for_script, safe_url

from .conftest import HOSTILE, hostile
from .synthetic import make_records, run_record, write_jsonl

ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "nav",
    "section",
    "footer",
    "div",
    "span",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "a",
    "code",
    "pre",
    "small",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "label",
    "input",
    "select",
    "option",
    "button",
    "br",
    "wbr",
    "noscript",
    "script",
    "svg",
    "path",
    "g",
    "text",
}


class Inventory(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies.append(data)


def inventory(page: str) -> Inventory:
    parser = Inventory()
    parser.feed(page)
    parser.close()
    return parser


def hostile_page(tmp_path: Path, **kwargs: Any) -> str:
    """Every free string hostile: the source and family name too, and a previous run."""
    records = [hostile(dict(r, source="onnx") if r["record"] == "result" else r)
               for r in make_records(cases=6, seed=3)]
    if "previous" in kwargs:
        kwargs["previous"] = [hostile(r) for r in kwargs["previous"] if r["record"] == "result"]
    results = load_results([write_jsonl(tmp_path / "h.jsonl", records)])
    assert not results.problems
    return render_html(results, **kwargs)


def assert_inert(page: str) -> None:
    found = inventory(page)
    tags = {tag for tag, _ in found.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    scripts = [attrs for tag, attrs in found.tags if tag == "script"]
    assert scripts == [{"type": "application/gzip", "id": "parity-data"},
                       {"type": "application/gzip", "id": "parity-details"}, {}]
    for tag, attrs in found.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
            assert name != "src" or not value, (tag, attrs)
    assert "<script>alert" not in page
    assert "\x00" not in page and "\x1b" not in page


def test_hostile_strings_everywhere_render_as_text(tmp_path: Path) -> None:
    previous = [dict(r, source="onnx") for r in make_records(cases=6, seed=3)]
    passing = [r for r in previous if r.get("verdict") == "pass"]
    passing[0].update(verdict="xfail", known_issue={"id": "gone", "url": "javascript:x",
                                                    "reason": "<b>r</b>"})
    passing[1].update(verdict="fail", failure={"category": "c", "message": "m"})
    page = hostile_page(tmp_path, command="parity report " + HOSTILE, previous=previous)
    assert_inert(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    changes = page[page.index('id="changes"'):page.index('id="scorecards"')]
    assert 'Fixed <b class="n">1</b>' in changes and "gone" in changes


def test_hostile_layer_name(tmp_path: Path) -> None:
    records = make_records(cases=3, seed=1)
    for r in records[1:]:
        r["kind"] = r["spec"]["kind"] = "<script>alert(1)</script>"
    page = render_html(load_results([write_jsonl(tmp_path / "a.jsonl", records)]))
    assert_inert(page)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # the kind tables
    assert "<script>alert(1)</script>" in read_page_data(page)["strings"]  # text, for the script


def test_hostile_attribute_values_and_names(tmp_path: Path) -> None:
    records = make_records(cases=2, seed=1)
    for r in records[1:]:
        r["spec"]["attrs"]["padding"] = '"><svg onload=alert(1)>'
        r["spec"]["attrs"]['x" onmouseover="alert(1)'] = "</pre><script>alert(2)</script>"
    domains = {"Conv2D": {'"><b onclick=alert(3)>': ["<i>never</i>"]}}
    page = render_html(load_results([write_jsonl(tmp_path / "a.jsonl", records)]), domains=domains)
    assert_inert(page)


def test_hostile_error_message_and_known_issue_url(tmp_path: Path) -> None:
    records = make_records(cases=2, seed=1)
    records[1].update(
        verdict="error",
        failure={"category": "conversion_error", "message": "</pre><script>alert(1)</script>"},
        known_issue={"id": "<b>x</b>", "url": "javascript:alert(1)", "reason": "<i>r</i>"},
    )
    records[2].update(
        verdict="xfail",
        known_issue={"id": "ok", "url": 'https://example.org/a?b=1&c="><script>', "reason": ""},
    )
    page = render_html(load_results([write_jsonl(tmp_path / "a.jsonl", records)]))
    assert_inert(page)
    assert 'href="javascript:' not in page
    assert 'href="https://example.org/a?b=1&amp;c=&quot;&gt;&lt;script&gt;"' in page


def test_hostile_version_string_and_command(tmp_path: Path) -> None:
    run = run_record(
        versions={"torch": "2.5</script><script>alert(1)</script>", "<x>": "1"},
        command="pytest '</code><script>alert(1)</script>'",
        cpu="<img src=x onerror=alert(1)>",
    )
    records = [run] + [r for r in make_records(cases=2, seed=1) if r["record"] == "result"]
    page = render_html(load_results([write_jsonl(tmp_path / "a.jsonl", records)]))
    assert_inert(page)
    assert "2.5&lt;/script&gt;" in page


def test_embedded_json_cannot_close_its_script() -> None:
    payload = {"k": "</script><script>alert(1)</script><!-- & \u2028"}
    encoded = json_for_script(payload)
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert json.loads(encoded) == payload


def test_data_blobs_are_base64_of_json_that_could_sit_in_a_script(tmp_path: Path) -> None:
    import base64
    import gzip

    page = hostile_page(tmp_path)
    blocks = {}
    for name in ("parity-data", "parity-details"):
        blob = re.search(rf'<script type="application/gzip" id="{name}">([^<]*)</script>', page)
        assert blob is not None and re.fullmatch(r"[A-Za-z0-9+/]+=*", blob.group(1))
        text = gzip.decompress(base64.b64decode(blob.group(1))).decode("utf-8")
        assert "<" not in text and ">" not in text and "&" not in text  # escaped all the same
        blocks[name] = json.loads(text)
    data = blocks["parity-data"]
    assert data["verdict"] in ("PASS", "FAIL", "INCOMPLETE")
    assert any("<script>alert(1)</script>" in s for s in data["strings"])
    assert "<script>alert(1)</script>" in json.dumps(blocks["parity-details"]["details"])


def test_csp_forbids_everything_but_the_inline_script_and_style(tmp_path: Path) -> None:
    page = hostile_page(tmp_path)
    found = inventory(page)
    metas = [a for t, a in found.tags if t == "meta" and a.get("http-equiv")]
    assert len(metas) == 1
    csp = metas[0]["content"] or ""
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    # The CSP must come before anything it governs.
    assert page.index("Content-Security-Policy") < page.index("<style>")


def test_csp_hashes_match_the_inline_blocks(tmp_path: Path) -> None:
    import base64
    import hashlib

    page = hostile_page(tmp_path)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    for body in (style, script):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"sha256-{digest}" in csp


def test_no_style_attributes_which_the_csp_would_block(tmp_path: Path) -> None:
    page = hostile_page(tmp_path)
    assert all("style" not in attrs for _, attrs in inventory(page).tags)


def test_safe_url() -> None:
    assert safe_url("https://github.com/o/r/issues/1") == "https://github.com/o/r/issues/1"
    assert safe_url("http://x.org") == "http://x.org"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,x",
        "//x.org",
        "file:///etc/passwd",
        "https:/nohost",
        None,
        42,
    ):
        assert safe_url(bad) is None, bad


def test_hostile_junit_is_valid_xml(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    records = [hostile(r) for r in make_records(cases=6, seed=3)]
    results = load_results([write_jsonl(tmp_path / "h.jsonl", records)])
    write_junit(results, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert all("<script>alert(1)</script>" in n for n in names)


def test_a_table_held_as_text_cannot_be_closed_early(tmp_path: Path) -> None:
    """A browser with script reads a <noscript> as text up to the first `</noscript`: a
    kind or issue named so must not end a held table and leave the rest as live markup."""
    records = make_records(cases=3, seed=1)
    for r in records[1:]:
        r["kind"] = r["spec"]["kind"] = "</noscript><script>alert(1)</script>"
        if r.get("known_issue"):
            r["known_issue"]["reason"] = "</NOSCRIPT ><img src=x onerror=alert(2)>"
    page = render_html(load_results([write_jsonl(tmp_path / "a.jsonl", records)]))
    assert_inert(page)
    markup = page[:page.index("<script>")]  # not the script's own comments
    held = re.findall(r'<noscript class="later">(.*?)</noscript', markup, re.S | re.I)
    assert len(held) == markup.count('<noscript class="later">') >= 2  # paths, kinds
    for text in held:
        assert text.endswith("</div>") and "<script" not in text.lower()
