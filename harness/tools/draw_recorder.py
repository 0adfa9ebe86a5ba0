"""A pytest plugin that draws a suite's cases without running them (``-p
harness.tools.draw_recorder``): every ``parity.check(spec)`` / ``parity.run(spec)`` records the
spec and the test that drew it, and runs no conversion.

With ``PARITY_DRAW_COVERAGE=1`` it also measures, with coverage.py in branch mode, the draw
code each test reaches (one coverage context per test). ``harness.tools.draw_cover`` reads
both: the specs a profile's corpus holds and the branches it reaches.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.plugin import ParitySession

OUT = os.environ.get("PARITY_DRAW_OUT", "draws")
_drawn: list[dict] = []
_current = {"test": None}
_coverage = None


def _record(_session, spec):
    _drawn.append({"test": _current["test"], "spec": spec.to_json()})


ParitySession.check = _record  # type: ignore[assignment]
ParitySession.run = _record  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    global _coverage
    if os.environ.get("PARITY_DRAW_COVERAGE"):
        import coverage

        include = os.environ.get("PARITY_DRAW_INCLUDE", "*/harness/*").split(",")
        _coverage = coverage.Coverage(branch=True, include=include,
                                      data_file=str(Path(OUT, "ci.coverage")))
        _coverage.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    _current["test"] = item.nodeid
    if _coverage is not None:
        _coverage.switch_context(item.nodeid)
    try:
        return (yield)
    finally:
        if _coverage is not None:
            _coverage.switch_context("")


def pytest_unconfigure(config: pytest.Config) -> None:
    Path(OUT).mkdir(parents=True, exist_ok=True)
    if _coverage is not None:
        _coverage.stop()
        _coverage.save()
    with open(Path(OUT, "ci-specs.jsonl"), "w", encoding="utf-8") as handle:
        for entry in _drawn:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
