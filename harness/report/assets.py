"""The page's one stylesheet and one script, inlined and pinned by hash in its CSP.

They are files of their own, static/report.css and static/report.js, shipped as package data
(pyproject.toml) and read here through importlib.resources, so that an installed wheel, even a
zipped one, finds them; the page inlines each file's text as it is.

Without the script the page still shows everything but the case browser and the coverage
lists: the verdict, the changes or failures, the scorecards, known issues, every path, the
kind matrix, the first failing cases in full, coverage totals and the environment. The
script (it sets the `js` class on <html>) unpacks the page's data blocks (gzip in base64,
with the browser's DecompressionStream), adds the filter bar, sorting, copy buttons, lists
every case and every kind's coverage from it, building a case's or a kind's HTML only when
it is opened. It writes model-provided strings with textContent and setAttribute only,
never as markup, and links only http(s) URLs. The one markup it parses is the page's own:
the long tables this module's caller wrote, escaped, inside <noscript class="later">, which
it parses into an inert <template> when idle, as the browser would have parsed them.
"""

from __future__ import annotations

from importlib import resources


def read_asset(name: str) -> str:
    """The text of static/NAME, as the page inlines it."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


CSS = read_asset("report.css")
JS = read_asset("report.js")
