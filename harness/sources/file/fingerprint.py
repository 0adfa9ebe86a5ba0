"""A file's identity: the sha256 a case records, computed once per file version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.core.files import sha256
from harness.sources.file.errors import FileError


def file_key(path: Path) -> tuple:
    """A file's version: its resolved path, size and modification time."""
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


_DIGESTS: dict[tuple, str] = {}


def digest(path: str | Path) -> str:
    """The sha256 of a file; of a folder, of its files' relative names and digests. A file
    is hashed once while its size and modification time stay the same."""
    path = Path(path)
    if path.is_file():
        key = file_key(path)
        if key not in _DIGESTS:
            _DIGESTS[key] = sha256(path)
        return _DIGESTS[key]
    if path.is_dir():
        lines = []
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            lines.append(f"{item.relative_to(path).as_posix()} {digest(item)}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()
    raise FileError(path, "no such file or folder")

