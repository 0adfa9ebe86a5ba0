"""Atomic file writes: a reader (CI, a browser, a watcher, another process) never sees half a
file."""

from __future__ import annotations

import contextlib
import os
import tempfile


def atomic_write_text(path: str | os.PathLike[str], content: str) -> None:
    """Write to a temporary file in the target's directory, then rename it over the target.

    The temporary file must be on the same file system for os.replace to be atomic, hence
    the same directory rather than /tmp.
    """
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; a report is meant to be read by others (CI artefacts).
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
