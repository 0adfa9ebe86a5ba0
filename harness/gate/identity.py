"""What a gate's verdict depends on besides the converter: parity's release, the golden store
and the known-issue set, each named so that a failure can be reproduced from its report."""

from __future__ import annotations

from pathlib import Path

from harness import __version__
from harness.core import known_issues
from harness.core.errors import GoldenError
from harness.golden import artifact


def identities(golden_root: Path | None) -> dict[str, object]:
    """parity's version, the store's identity (None where no readable store is given) and the
    known issues'."""
    store = None
    if golden_root is not None:
        try:
            store = {"root": str(golden_root), **artifact.identity(golden_root)}
        except GoldenError:
            store = None
    return {"parity": __version__, "golden": store, "known_issues": known_issues.identity()}


def lines(found: dict) -> list[str]:
    store, issues = found["golden"], found["known_issues"]
    return [
        f"parity {found['parity']}",
        (f"golden store: manifest sha256 {store['manifest_sha256']}, {store['cases']} cases "
         f"({store['root']})") if store else "golden store: none (give one with --golden)",
        f"known issues: sha256 {issues['sha256']}, {issues['entries']} entries",
    ]
