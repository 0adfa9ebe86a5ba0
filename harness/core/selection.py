"""What a run selects: the Hypothesis profiles' budgets, and one shard of the tests, chosen by
a hash of each test's id so that every machine of a matrix splits them the same way."""

from __future__ import annotations

import hashlib

PROFILES = {
    # Fast feedback on a laptop: a handful of random examples per layer kind.
    "dev": {"max_examples": 5},
    # The CI gate: derandomised (same examples every run), no database, bounded budget.
    "ci": {"max_examples": 12, "derandomize": True, "database": None},
    # Breadth: many examples, run on a schedule.
    "nightly": {"max_examples": 200},
    # One derandomised case per kind and no sampled side paths or torch end: another stack's
    # lane (tox -e floor, .ci/run's floor lane) checks that every kind still runs there.
    "smoke": {"max_examples": 1, "derandomize": True, "database": None},
}


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"I/N"`` as (I, N); a ValueError that names what is wrong."""
    if text is None:
        return None
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"{text!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= index <= total:
        raise ValueError(f"{text!r}: I must be between 1 and N")
    return index, total


def in_shard(nodeid: str, index: int, total: int) -> bool:
    digest = hashlib.sha256(nodeid.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total == index - 1
