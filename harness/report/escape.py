"""Turning untrusted strings into safe HTML, XML, URLs and inline JSON.

Everything the report shows comes from files a model, a converter or a user wrote (layer
names, attribute values, error messages, version strings), so every value passes through one
of these functions on its way into the page. Nothing is ever trusted because of where it
came from.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

# XML 1.0 forbids most C0 controls even as character references, and a browser replaces
# NUL; converters print ANSI colour codes into their messages, so these are common.
_INVALID_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def clean(value: Any) -> str:
    """The value as text, with characters that XML and HTML cannot carry made visible."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():  # nearly every string, and checked in C
        return text
    return _INVALID_XML_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def text(value: Any) -> str:
    """Escape for HTML element content and for quoted attribute values alike."""
    return html.escape(clean(value), quote=True)


def truncate(value: Any, limit: int) -> str:
    value = clean(value)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}\n... [{len(value) - limit} more characters not shown]"


def safe_url(url: Any) -> str | None:
    """The URL when it is a plain web link; `javascript:`, `data:` and friends are refused."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def json_for_script(obj: Any, compact: bool = False) -> str:
    """JSON that can sit inside a <script> element without ending it or opening a comment.

    `compact` leaves out the spaces and keeps the keys in their order (the page's data
    block, where every byte is sent and parsed); otherwise keys are sorted, for diffs.
    """
    if compact:
        encoded = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str,
                             allow_nan=False)
    else:
        encoded = json.dumps(obj, sort_keys=True, ensure_ascii=True, default=str)
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def html_id(prefix: str, value: Any, fallback: int) -> str:
    """A fragment id built from a case id when it is tame, from a counter otherwise."""
    value = str(value)
    if value and len(value) <= 64 and not _ID_UNSAFE.search(value):
        return f"{prefix}{value}"
    return f"{prefix}n{fallback}"
