"""What goes wrong with a user's file: one line that names the file."""

from __future__ import annotations

from harness.sources import SourceError


class FileError(SourceError):
    """A user's file that cannot be read as a model; ``str()`` is one line naming the file."""

    def __init__(self, path, what: str):
        self.path = str(path)
        self.what = " ".join(str(what).split())
        super().__init__(f"{self.path}: {self.what}")


class UnsupportedFile(FileError):
    """A file parity reads but cannot run as it stands: a custom layer without a definition
    here, a Lambda, an op or layer type without a counterpart."""


def first_line(exc: BaseException) -> str:
    """An exception's first line, for a message that must stay one line."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
