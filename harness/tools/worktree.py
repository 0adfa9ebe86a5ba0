"""A commit's tree checked out beside this one, for a tool or benchmark that measures it
against this tree (its own code, on this interpreter and its installed packages)."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def checked_out(ref: str, root: Path = ROOT) -> Iterator[Path]:
    """REF's tree in a temporary git worktree of ``root``'s repository, removed on leaving.
    A ref git does not know raises ``subprocess.CalledProcessError`` with git's message."""
    with tempfile.TemporaryDirectory(prefix="parity-tree-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--force", str(tree), ref],
                       cwd=root, check=True, capture_output=True, text=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root,
                           capture_output=True)
