"""A derandomised Hypothesis test's draws, recorded on one run and replayed on the next
without Hypothesis' engine (the kept corpus: ``harness.run.stage_cache.draws``).

A suite test is ``@given(data=st.data())`` whose body draws its case from ``data`` and runs
it. Under a derandomised profile Hypothesis generates the same examples on every run, in the
same order, whatever they do, until one fails (then it shrinks) or skips the test (then it
stops): so a test that passed, or skipped at its last example, runs the same cases when its
body is called once per kept example with a ``data`` that hands back the values drawn then.

- ``replayable(test)``: the name of the test's one ``st.data()`` argument, where it can be
  replayed: derandomised, generating, with no seed, no ``@reproduce_failure`` and no
  ``@example``; else None.
- ``Recorder``: swaps the test's inner function (``test.hypothesis.inner_test``, which
  Hypothesis lets plugins replace) for one that records each example's draws, for one run.
  Hypothesis seeds a derandomised test by its inner function's source, signature and digest;
  the recorder wraps it with all three (``functools.wraps``), and records only where
  Hypothesis' own digest of the two is the same, so that the corpus drawn is the one drawn
  without it.
- ``replay``: calls the inner function once per kept example; ``Diverged`` where the body
  asks for a draw that was not kept, leaves one unused or the test ends otherwise than it did:
  the run then draws under Hypothesis (and keeps what it draws).
"""

from __future__ import annotations

import functools
from typing import Any

from harness.run.stage_cache.draws import Corpus, keepable


class Diverged(Exception):
    """A replayed test did not do what it did when its draws were kept."""


def replayable(test: Any) -> str | None:
    handle = getattr(test, "hypothesis", None)
    if not getattr(test, "is_hypothesis_test", False) or handle is None:
        return None
    settings = getattr(test, "_hypothesis_internal_use_settings", None)
    if settings is None or not settings.derandomize:
        return None
    from hypothesis import Phase

    if Phase.generate not in settings.phases:
        return None
    if (getattr(test, "_hypothesis_internal_use_seed", None) is not None
            or getattr(test, "_hypothesis_internal_use_reproduce_failure", None) is not None
            or getattr(test, "hypothesis_explicit_examples", None)):
        return None
    given = getattr(handle, "_given_kwargs", None) or {}
    if len(given) != 1 or repr(next(iter(given.values()))) != "data()":
        return None
    return next(iter(given))


# The settings that decide what a derandomised test generates, and whether it passes.
SETTINGS_DRAWN_BY = ("backend", "database", "derandomize", "max_examples", "phases",
                     "stateful_step_count", "suppress_health_check")


def settings_text(test: Any) -> str:
    """The test's settings that decide its draws, as text that is the same in every process
    (a settings object's repr lists suppressed health checks in set order, which varies)."""
    current = test._hypothesis_internal_use_settings
    parts = []
    for name in SETTINGS_DRAWN_BY:
        value = getattr(current, name, None)
        if isinstance(value, (list, tuple, set, frozenset)):
            value = sorted(repr(item) for item in value)
        parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def skip_exceptions() -> tuple[type[BaseException], ...]:
    from hypothesis.core import skip_exceptions_to_reraise

    return skip_exceptions_to_reraise()


class _Recording:
    """Hypothesis' ``data`` object, each value it draws noted."""

    def __init__(self, data: Any):
        self._data = data
        self.drawn: list[Any] = []
        self.raised_in_draw = False

    def draw(self, strategy: Any, label: Any = None) -> Any:
        try:
            value = self._data.draw(strategy, label=label)
        except BaseException:
            self.raised_in_draw = True
            raise
        self.drawn.append(value)
        return value

    def __repr__(self) -> str:
        return repr(self._data)


class Recorder:
    """``with Recorder(test, name) as recorder:`` run the test once; then ``corpus(ended)``
    is what it drew, or None where it cannot be kept."""

    def __init__(self, test: Any, name: str):
        self._handle = test.hypothesis
        self._original = self._handle.inner_test
        self._name = name
        self._examples: list[tuple[Any, ...]] = []
        self._keepable = True

    def __enter__(self) -> Recorder:
        original, name = self._original, self._name

        @functools.wraps(original)
        def recording(*args, **kwargs):
            data = kwargs[name] = _Recording(kwargs[name])
            try:
                result = original(*args, **kwargs)
            except skip_exceptions():
                self._ended(data, skipped=True)
                raise
            except BaseException:
                # An example rejected by its first draw ran nothing: Hypothesis discards it
                # too. Anything else (a failure, a rejection after a draw) is not kept.
                if not (data.raised_in_draw and not data.drawn):
                    self._keepable = False
                raise
            self._ended(data, skipped=False)
            return result

        if _digest(recording) is None or _digest(recording) != _digest(original):
            self._keepable = False  # would draw another corpus: run as it is, keep nothing
            return self
        self._handle.inner_test = recording
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.inner_test = self._original

    def _ended(self, data: _Recording, skipped: bool) -> None:
        if skipped and data.raised_in_draw:  # a draw skipped the test: replaying draws nothing
            self._keepable = False
        self._examples.append(tuple(data.drawn))

    def corpus(self, ended: str) -> Corpus | None:
        if not self._keepable or not all(keepable(v) for drawn in self._examples for v in drawn):
            return None
        return Corpus(tuple(self._examples), ended)


class _Replayed:
    """A ``data`` that hands back one example's kept draws in order."""

    def __init__(self, drawn: tuple[Any, ...], where: str):
        self._drawn = drawn
        self._where = where
        self.used = 0

    def draw(self, strategy: Any, label: Any = None) -> Any:
        if self.used >= len(self._drawn):
            raise Diverged(f"{self._where} draws more than the {len(self._drawn)} value(s) kept")
        self.used += 1
        return self._drawn[self.used - 1]

    def __repr__(self) -> str:
        return f"data(...) replaying {self._where}"


def replay(test: Any, arguments: dict[str, Any], name: str, corpus: Corpus) -> None:
    """Runs the test's body on each kept example, in order. A skip propagates (Hypothesis
    would skip at the same example); any other exception, a value returned, a kept draw left
    unused or an ending other than the kept one raise ``Diverged`` from it."""
    inner = test.hypothesis.inner_test
    for index, drawn in enumerate(corpus.examples):
        where = f"example {index + 1} of {len(corpus.examples)}"
        data = _Replayed(drawn, where)
        try:
            result = inner(**arguments, **{name: data})
        except skip_exceptions():
            raise
        except Diverged:
            raise
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pytest.fail's Failed too: Hypothesis would shrink it
            raise Diverged(f"{where} raised {type(exc).__name__}") from exc
        if result is not None:
            raise Diverged(f"{where} returned {result!r}")
        if data.used != len(drawn):
            raise Diverged(f"{where} drew {data.used} of its {len(drawn)} kept value(s)")
    if corpus.ended == "skipped":
        raise Diverged("its last example skipped the test when it was kept, and passes now")


def _digest(function: Any) -> bytes | None:
    try:
        from hypothesis.internal.reflection import function_digest
    except ImportError:  # another Hypothesis: record nothing rather than draw another corpus
        return None
    return function_digest(function)


def differences(kept: Corpus, drawn: Corpus) -> str | None:
    """The first difference between a kept corpus and one drawn now, or None."""
    if kept.ended != drawn.ended:
        return f"kept: the test {kept.ended}; drawn now: it {drawn.ended}"
    for index, (before, now) in enumerate(zip(kept.examples, drawn.examples, strict=False)):
        if [s.case_id for s in before] != [s.case_id for s in now]:
            return (f"example {index + 1}: kept {[s.describe() for s in before]}, "
                    f"drawn now {[s.describe() for s in now]}")
    if len(kept.examples) != len(drawn.examples):
        return f"kept {len(kept.examples)} examples, drawn now {len(drawn.examples)}"
    return None
