"""A file parity reads, written wrong: the error it raises must name the file, so that a user
with many files knows which one to fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def assert_names_the_file(path: Path, body: str, read: Callable[[Path], object],
                          error: type[Exception], message: str) -> None:
    """``read`` of ``path`` holding ``body`` raises ``error`` matching ``message``, and the
    error names ``path``."""
    path.write_text(body)
    with pytest.raises(error, match=message) as info:
        read(path)
    assert str(path) in str(info.value)
