"""A pytest plugin that draws a suite's cases without running them (``-p
harness.tools.draw_recorder``): every ``parity.check(spec)`` / ``parity.run(spec)`` records the
spec and the test that drew it, and runs no conversion.

With ``PARITY_DRAW_COVERAGE=1`` it also measures, with coverage.py in branch mode, the draw
code each test reaches (one coverage context per test). ``harness.tools.draw_cover`` reads
both: the specs a profile's corpus holds and the branches it reaches.

With ``PARITY_DRAW_CONTEXT=draw`` as well, a context is one draw: ``<test id>#<n>`` holds what
ran from the test's start or its draw ``n - 1`` up to its draw ``n`` (rejected examples
between them included), and each recorded draw names its ``context``. What ran after a test's
last draw (examples Hypothesis rejected) has a context of its own, ``<test id>#<count>``, that
no draw names (``harness.tools.ci_contract.draw_contexts`` gives it to the last draw).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.plugin import ParitySession

OUT = os.environ.get("PARITY_DRAW_OUT", "draws")
_drawn: list[dict] = []
_current: dict = {"test": None, "draw": 0}
_coverage = None
_PER_DRAW = os.environ.get("PARITY_DRAW_CONTEXT") == "draw"


def _context() -> str:
    return f"{_current['test']}#{_current['draw']}" if _PER_DRAW else _current["test"]


def _record(_session, spec):
    entry = {"test": _current["test"], "spec": spec.to_json()}
    if _PER_DRAW:
        entry["context"] = _context()
    _drawn.append(entry)
    _current["draw"] += 1
    if _coverage is not None and _PER_DRAW:
        _coverage.switch_context(_context())


ParitySession.check = _record  # type: ignore[assignment]
ParitySession.run = _record  # type: ignore[assignment]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _coverage
    # Every case is drawn under Hypothesis, the draw code measured: never replayed from the
    # stage cache's kept draws (harness.corpus_plugin), and nothing runs that it would keep.
    config.option.parity_cache = "none"
    if os.environ.get("PARITY_DRAW_COVERAGE"):
        import coverage

        include = os.environ.get("PARITY_DRAW_INCLUDE", "*/harness/*").split(",")
        _coverage = coverage.Coverage(branch=True, include=include,
                                      data_file=str(Path(OUT, "ci.coverage")))
        _coverage.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    _current.update(test=item.nodeid, draw=0)
    if _coverage is not None:
        _coverage.switch_context(_context())
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
