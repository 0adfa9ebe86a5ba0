"""A suite's covering cases (``suites/<source>/cover.json``), as ``python -m
harness.tools.draw_cover`` writes them: draws that reach the branches of the draw code and the
(attribute value, axis) pairs that the ci profile's derandomised corpus misses, with the
figures measured before and with them.

The suites run the cases (``suites/<source>/test_cover.py``, a kind's cases in one test);
``parity layers`` and the report's coverage section show the figures
(``harness.report.coverage.reach``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.core.spec import LayerSpec

CI_EXAMPLES = 12  # the ci profile's max_examples (harness.core.selection.PROFILES)


def read(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cases_by_kind(path: Path, ci_only: bool = False) -> dict[str, list[LayerSpec]]:
    """The covering cases of one file, by kind; with ``ci_only``, only those the ci profile
    runs (``in_ci``)."""
    data = read(path)
    held = data.get("held", {})
    grouped: dict[str, list[LayerSpec]] = defaultdict(list)
    for entry in data["cases"]:
        spec = LayerSpec.from_json(entry["spec"])
        if (not ci_only or in_ci(entry, data)) and spec.case_id not in held:
            grouped[entry["kind"]].append(spec)
    return dict(grouped)


def in_ci(entry: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether the ci profile runs a covering case: its ``ci`` mark (the tool's ``ci_goal``:
    the cases that take each kind to that share of its pairs, and those reaching a branch),
    else the first ``ci_cases`` by ``rank``, else every case."""
    if "ci" in entry:
        return bool(entry["ci"])
    ci_cases = data.get("ci_cases")
    return ci_cases is None or entry.get("rank", 0) <= ci_cases


def held_cases(path: Path) -> dict[str, str]:
    """{case id: why}: covering cases that fail on a leg no known issue covers yet (a find
    of the cover, to pin in harness/known_issues.d or to fix), run by no test until then."""
    return dict(read(path).get("held", {}))


def profile_runs_ci_part(max_examples: int) -> bool:
    """Whether a Hypothesis profile drawing ``max_examples`` a test runs only the ci part of a
    cover (dev, ci) rather than every case (nightly)."""
    return max_examples <= CI_EXAMPLES


def suite_test(path: Path):
    """The test a suite runs its covering cases with: one test per kind, each running (and
    recording, through the ``parity`` fixture) every case of the kind and failing with the
    messages of those whose legs failed; a known upstream bug is an xfail, not a failure."""
    import pytest
    from hypothesis import settings

    cases = cases_by_kind(path, ci_only=profile_runs_ci_part(settings().max_examples))

    @pytest.mark.parametrize("kind", sorted(cases))
    def test_cover(kind, parity):
        failures = [case.failure_message() for case in map(parity.run, cases[kind])
                    if case.failures]
        assert not failures, "\n\n".join(failures)

    return test_cover


def held_test(path: Path):
    """A test that lists each held covering case as a skip with its reason, so that a run
    shows what the cover found and no known issue pins yet."""
    import pytest

    held = held_cases(path)

    @pytest.mark.parametrize("case_id", sorted(held))
    def test_cover_held(case_id):
        pytest.skip(f"{case_id}: {held[case_id]}")

    return test_cover_held
