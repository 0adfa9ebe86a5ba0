"""A golden store archive named by URL (``parity gate --golden https://...``), downloaded into
the current directory's ``.parity-golden/downloads/``. This is the only place parity reaches
the network, and only for the URL a user gives, with the SHA-256 they state."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from harness.core.errors import GoldenError

SCHEMES = ("http://", "https://")
TIMEOUT = 60  # seconds without a byte before a download is given up


def is_url(text: str) -> bool:
    return text.startswith(SCHEMES)


def download(url: str, into: Path, checksum: str | None) -> Path:
    """The archive at ``url`` as a file under ``into``, named by the checksum stated for it:
    kept, so a second run with the same URL and checksum reads it from there, and a new
    checksum downloads again. ``artifact.unpack`` then checks it."""
    if not checksum:
        raise GoldenError(f"--golden {url}: a URL needs the archive's checksum, "
                          f"--golden-sha256 HEX")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(urllib.parse.urlparse(url).path).name)
    target = into / f"{checksum.strip().lower()[:16]}-{name or 'golden-store.tar.gz'}"
    if not target.is_file():
        into.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, \
                    open(partial, "wb") as out:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            partial.unlink(missing_ok=True)
            raise GoldenError(f"--golden {url}: cannot download it ({exc})") from None
        os.replace(partial, target)
    return target
