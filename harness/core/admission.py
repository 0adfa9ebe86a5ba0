"""What each source's kinds admit along the axes (``harness.core.axes``): the rules a source
registers here when its kinds load, so that the dtype and free-dimension machinery
(``harness.core.dtypes``, ``harness.core.free_dims``) names no source.

A source without rules (a plugin's, the ``file`` and ``mat`` sources) admits no axis: its
cases are drawn in float32 at fixed sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from harness.core import registry, source_registry
from harness.core.registry import LayerKind


def _nothing(*_: Any) -> tuple[str, ...]:
    return ()


def _not_blocked(*_: Any) -> bool:
    return False


@dataclass(frozen=True)
class Admission:
    # The dtypes besides float32 the source builds a case in, simplest first; a kind is drawn
    # in those its family declares (``LayerKind.dtypes``; None: all) less ``refused``.
    dtypes: tuple[str, ...] = ()
    refused: Callable[[LayerKind], Collection[str]] = _nothing
    # The free dimensions a kind admits ("batch" first), measured by the source.
    free_dims: Callable[[LayerKind], tuple[str, ...]] = _nothing
    # (kind name, attrs, shapes, dimension) -> whether this configuration needs the axes the
    # dimension frees fixed (an unrolled RNN needs its steps).
    blocked: Callable[[str, dict[str, Any], Any, str], bool] = _not_blocked
    # (shapes, kind name, attrs) -> per input, whether its dimension 0 is the batch; None:
    # every input's is.
    batched: Callable[[Any, str | None, dict[str, Any] | None], list[bool]] | None = None
    # (kind, attrs, shapes, dtype) -> the admitted dimensions this configuration can have
    # free, where the source decides it itself; None: those with axes to free, less blocked.
    applicable: Callable[[LayerKind, dict[str, Any], Any, str], tuple[str, ...]] | None = None


NONE = Admission()
_RULES: dict[str, Admission] = {}


def register(source: str, rules: Admission) -> Admission:
    """Sets what ``source``'s kinds admit; the source calls it when its kinds load."""
    _RULES[source] = rules
    return rules


def of(source: str) -> Admission:
    """``source``'s rules, its kinds loaded first (which registers them)."""
    if source not in _RULES and source_registry.is_source(source):
        registry.load(source)
    return _RULES.get(source, NONE)
