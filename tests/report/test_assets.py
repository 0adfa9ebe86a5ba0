"""The page's stylesheet and script are files (harness/report/static/), shipped as package data.

The page inlines each file's text as it is, and pins it by hash in its CSP; a wheel built from
the tree carries the files, and the report reads them from it even when it is imported from
the zipped wheel itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import harness.report
from harness.report import load_results, render_html

from .synthetic import write_jsonl

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPORT = Path(harness.report.__file__).parent
STATIC = REPORT / "static"
ROOT = REPORT.parent.parent
ASSETS = ("report.css", "report.js")


def csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def test_the_page_inlines_each_file_as_it_is_and_pins_it_in_its_csp(
    tmp_path: Path, records: list[dict]
) -> None:
    css, js = ((STATIC / name).read_text(encoding="utf-8") for name in ASSETS)
    page = render_html(load_results([write_jsonl(tmp_path / "r.jsonl", records)]))
    assert page.count("<style>") == 1 and f"<style>{css}</style>" in page
    assert page.count("<script>") == 1 and f"<script>{js}</script>" in page
    csp = html.unescape(page.split('http-equiv="Content-Security-Policy"', 1)[1].split(">")[0])
    assert f"style-src {csp_hash(css)}" in csp and f"script-src {csp_hash(js)}" in csp


def test_package_data_names_every_file_under_static() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["harness.report"]
    shipped = {path for pattern in patterns for path in REPORT.glob(pattern)}
    on_disk = {path for path in STATIC.iterdir() if path.is_file()}
    assert {path.name for path in on_disk} >= set(ASSETS)
    assert on_disk <= shipped, f"not in package-data: {sorted(p.name for p in on_disk - shipped)}"


def test_a_built_wheel_carries_the_files_and_the_report_reads_them_from_the_zip(
    tmp_path: Path,
) -> None:
    pytest.importorskip("setuptools.build_meta", reason="building a wheel needs setuptools")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "harness", tree / "harness",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    build = ("import sys; from setuptools import build_meta; "
             "print(build_meta.build_wheel(sys.argv[1]))")
    built = subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=tree,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        for name in ASSETS:
            assert archive.read(f"harness/report/static/{name}") == (STATIC / name).read_bytes()

    # Imported from the zipped wheel alone, the report inlines the same text.
    read = ("import hashlib, harness.report.assets as a; print(a.__file__); "
            "print(hashlib.sha256(a.CSS.encode()).hexdigest()); "
            "print(hashlib.sha256(a.JS.encode()).hexdigest())")
    env = {**os.environ, "PYTHONPATH": str(wheel)}
    ran = subprocess.run([sys.executable, "-c", read], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    where, *digests = ran.stdout.split()
    assert where.startswith(str(wheel) + os.sep)
    assert digests == [hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
                       for name in ASSETS]
