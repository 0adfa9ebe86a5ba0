"""What a suite test draws, as pytest runs it: the same corpus from wherever it runs, and,
under a derandomised profile, the corpus the last run kept in the stage cache replayed
without Hypothesis' engine (docs/cache.md#drawn-cases).

Registered by ``harness.plugin`` in every pytest process that runs tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.core import suites
from harness.run import draw_replay
from harness.run.stage_cache import draws
from harness.run.stage_cache.verify import sampled

# What the recording hook hands its replaying one, and back, for one test.
PLAN = pytest.StashKey[dict[str, Any]]()


class CorpusKeys:
    """A suite test draws the same derandomised corpus from wherever it runs (the repository's
    root, another folder, the installed package under ``parity gate``): Hypothesis' own
    wrapper keys a parametrized test's seed by pytest's node id, which names the file from
    the run's root; this replaces that key with ``suites.corpus_key`` (the node id a run from
    the repository's root has, so the repository's corpus is the one it always drew). As a
    plain implementation it runs after every wrapper has set up, before the test."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test",
                        None)
        if inner is None or not hasattr(inner, "_hypothesis_internal_add_digest"):
            return
        key = suites.corpus_key(item.path, item.nodeid)
        if key is not None:
            inner._hypothesis_internal_add_digest = key.encode()


class DrawReplay:
    """A suite test's kept draws replayed, or its draws recorded and kept.

    ``store``: the stage cache's folder (``harness.run.stage_cache.store.Store``);
    ``session``: the run's ``ParitySession``, whose buffered records of a replay that
    diverged are dropped before Hypothesis runs the test; ``verify``: the share of kept
    corpora drawn again under Hypothesis and compared (``--parity-cache-verify``).
    """

    def __init__(self, store, session, verify: float = 0.0):
        self.store = store
        self.session = session
        self.verify = verify

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
        plan = self._plan(pyfuncitem)
        if plan is None:
            return (yield)
        pyfuncitem.stash[PLAN] = plan
        try:
            result = yield
        except draw_replay.skip_exceptions():
            self._kept(plan, "skipped")
            raise
        finally:
            recorder = plan.get("recorder")
            if recorder is not None:
                recorder.__exit__(None, None, None)
        self._kept(plan, "passed")
        return result

    @pytest.hookimpl(specname="pytest_pyfunc_call", tryfirst=True)
    def pytest_pyfunc_call_replay(self, pyfuncitem: pytest.Function) -> bool | None:
        """Replays the kept corpus (True: the call is done), else has the test draw under
        Hypothesis with a recorder in place (None: pytest's own call runs it)."""
        plan = pyfuncitem.stash.get(PLAN, None)
        if plan is None:
            return None
        kept, test = plan["kept"], pyfuncitem.obj
        if kept is not None and not plan["verifying"]:
            arguments = {name: pyfuncitem.funcargs[name]
                         for name in pyfuncitem._fixtureinfo.argnames}
            buffered = self.session.buffered()
            try:
                draw_replay.replay(test, arguments, plan["name"], kept)
            except draw_replay.Diverged:
                self.session.drop_buffered(since=buffered)
            else:
                self.session.draws["replayed"] += 1
                plan["replayed"] = True
                return True
        plan["recorder"] = draw_replay.Recorder(test, plan["name"]).__enter__()
        return None

    def _plan(self, item: pytest.Function) -> dict[str, Any] | None:
        test = getattr(item, "obj", None)
        name = draw_replay.replayable(test)
        where = suites.corpus_key(item.path, item.nodeid) if name is not None else None
        if where is None:  # a test outside parity's suites: its code is not in the key
            return None
        key = draws.test_key(where, draw_replay.settings_text(test))
        return {"key": key, "test": where, "name": name, "kept": draws.read(self.store, key),
                "verifying": sampled(key, self.verify)}

    def _kept(self, plan: dict[str, Any], ended: str) -> None:
        recorder = plan.get("recorder")
        if plan.get("replayed") or recorder is None:
            return
        drawn = recorder.corpus(ended)
        if drawn is None:
            return
        kept = plan["kept"]
        if plan["verifying"] and kept is not None:
            difference = draw_replay.differences(kept, drawn)
            if difference is not None:
                self.store.remove(plan["key"])
                pytest.fail(f"parity cache: the draws kept for {plan['test']} differ from "
                            f"those Hypothesis draws now ({difference}): the key misses "
                            "something that decides them; the entry is removed",
                            pytrace=False)
            return
        draws.keep(self.store, plan["key"], plan["test"], drawn)
        self.session.draws["kept"] += 1
