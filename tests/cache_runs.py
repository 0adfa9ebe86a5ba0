"""One run of the harness on a stage-cache folder, as a new process would make it: shared by
the stage cache's tests (tests/test_stage_cache.py, tests/test_stage_cache_runs.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.core import yardstick
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import StageCache


def fresh_process() -> None:
    """What a new process forgets: the package fingerprints, why a case has no yardstick."""
    keys._installed_fingerprint.cache_clear()
    yardstick._MISSING.clear()


def run_cached(folder: Path, spec: LayerSpec, paths: str, **kwargs):
    """(the case's result, its artifacts by leg, the cache) of one run on ``folder``."""
    fresh_process()
    cache = StageCache(folder)
    artifacts: dict = {}
    kwargs.setdefault("known_issues", [])
    harness = Harness(paths, cache=cache,
                      on_paths=lambda case, made, *rest: artifacts.__setitem__("all", made),
                      **kwargs)
    return harness.run(spec), artifacts["all"], cache


def verdicts(result) -> list[dict]:
    """Every leg's record but its timing, which a hit changes."""
    return [{k: v for k, v in dataclasses.asdict(leg).items() if k != "timing"}
            for leg in result.legs]
