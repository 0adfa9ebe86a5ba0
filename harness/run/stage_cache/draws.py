"""The cases a derandomised suite test drew, kept between runs, so that a later run replays
them without Hypothesis' engine (``harness.run.draw_replay``).

Under a derandomised profile (ci, smoke) a test draws the same cases on every run for as
long as nothing that decides them changes, and drawing them is a tenth of a run whose every
stage hits (docs/benchmarks.md). A key holds everything that decides them:

- the harness' code (its strategies, kinds and draw code) and the suites' (the tests'
  bodies, their parametrisation), as the stage cache's keys hold them;
- the draw code of every registered kind and source that lives outside the harness (a
  plugin's kinds), by its file's content;
- the packages drawing runs (``DRAW_PACKAGES``: Hypothesis, numpy, onnx's schemas,
  ml_dtypes), by the fingerprint the stage cache keys them by; never a converter's, so that
  a new converter release replays the same cases;
- the test: its id under the suites (``harness.core.suites.corpus_key``) and its Hypothesis
  settings;
- Python's version and the machine (``keys.common``).

An entry holds each example's drawn specs in the order Hypothesis ran them, and how the test
ended (``passed``, or ``skipped`` by its last example). Only a test whose every drawn value
is a ``LayerSpec`` that its JSON gives back exactly is kept.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness.core import registry
from harness.core.spec import LayerSpec, SpecError
from harness.core.suites import folder as suites_folder
from harness.run.stage_cache import keys
from harness.run.stage_cache.store import Store

# Bumped when what an entry holds changes.
FORMAT = 1
# What drawing imports besides the harness (measured: a draw of every kind of every source
# loads onnx and ml_dtypes, never a framework or a converter).
DRAW_PACKAGES = ("hypothesis", "numpy", "onnx", "ml-dtypes")
ENDINGS = ("passed", "skipped")


@dataclass(frozen=True)
class Corpus:
    """A test's drawn examples, each the values its body drew, in order; ``ended``: how the
    test ended (``skipped``: its last example skipped it)."""

    examples: tuple[tuple[LayerSpec, ...], ...]
    ended: str = "passed"

    def to_entry(self) -> dict[str, Any]:
        return {"kind": "draws", "format": FORMAT, "ended": self.ended,
                "examples": [[spec.to_json() for spec in drawn] for drawn in self.examples]}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Corpus:
        """The corpus an entry holds; ValueError where it is not one this code wrote."""
        if entry.get("kind") != "draws" or entry.get("format") != FORMAT:
            raise ValueError(f"not a format-{FORMAT} draws entry")
        if entry.get("ended") not in ENDINGS:
            raise ValueError(f"ended {entry.get('ended')!r}, not one of {ENDINGS}")
        try:
            examples = tuple(tuple(LayerSpec.from_json(value) for value in drawn)
                             for drawn in entry["examples"])
        except (KeyError, TypeError, SpecError) as exc:
            raise ValueError(f"an example does not read back: {exc}") from None
        return cls(examples, entry["ended"])


def keepable(value: Any) -> bool:
    """Whether a drawn value is kept exactly: a ``LayerSpec`` its JSON gives back, equal and
    with the same case id (-0.0 and 0.0 compare equal, their case ids differ)."""
    if type(value) is not LayerSpec:
        return False
    try:
        back = LayerSpec.from_json(json.loads(json.dumps(value.to_json())))
    except (SpecError, TypeError, ValueError):
        return False
    return back == value and back.case_id == value.case_id


@functools.cache
def inputs() -> dict[str, Any]:
    """What decides every test's draws in this process, besides the test (once a process:
    the kinds are registered by the time the first test runs)."""
    return {**keys.common(), "kind": "draws", "draws_format": FORMAT,
            "suites": keys.tree_hash(suites_folder()),
            "packages": keys.fingerprints(DRAW_PACKAGES),
            "outside_harness": _draw_code_outside_harness()}


def test_key(test: str, settings_text: str) -> str:
    """The key of one test's corpus: ``test`` as ``corpus_key`` names it, ``settings_text``
    its Hypothesis settings' repr."""
    return keys.digest({**inputs(), "test": test, "settings": settings_text})


def read(store: Store, key: str) -> Corpus | None:
    """The corpus kept under ``key``; None where there is none, or it is damaged (a warning,
    the entry removed: the test draws again)."""
    entry = store.entry(key)
    if entry is None:
        return None
    try:
        return Corpus.from_entry(entry)
    except ValueError as exc:
        store._damaged(store._entry_path(key), str(exc))
        return None


def keep(store: Store, key: str, test: str, corpus: Corpus) -> None:
    store.put(key, {**corpus.to_entry(), "test": test})


def _draw_code_outside_harness() -> dict[str, str]:
    """The files (by content) that define registered kinds' draws or loaded sources' kinds
    outside the harness package: a plugin's draw code."""
    package = Path(harness.__file__).resolve().parent
    modules = {_module_of(kind.draw) for kind in registry.registered()}
    modules |= set(registry.loaded_kinds_modules())
    modules.discard(None)
    found = {}
    for name in sorted(modules):
        file = getattr(sys.modules.get(name), "__file__", None) or _file_of(name)
        if file is not None and package in Path(file).resolve().parents:
            continue
        # Code with no file to read (gone since, or never written): this process' key is its
        # own, so no later run replays draws whose code it cannot compare.
        found[name] = ((keys.file_hash(file) if file is not None else None)
                       or f"unreadable in process {os.getpid()} at {time.time_ns()}")
    return found


def _module_of(function: Any) -> str | None:
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__module__", None)


def _file_of(module: str) -> str | None:
    try:
        return inspect.getsourcefile(sys.modules[module])
    except (KeyError, TypeError):
        return None
