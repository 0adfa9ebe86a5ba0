"""tf2onnx's optimiser passes run on the graph itself, as tf2onnx would run them on copies.

Before each optimiser pass, tf2onnx copies the whole ONNX graph (``copy.deepcopy`` in
``tf2onnx.optimizer.optimize_graph``), so that a pass that raises can be skipped with a
warning; a pass that succeeds returns the copy it changed, and that copy is the graph from
then on. The copies are a third of a recurrent layer's conversion (docs/benchmarks.md,
"Where a recurrent conversion's time goes"). Where no pass raises, running every pass on the
graph itself gives the graph the copies give: each pass sees the same nodes either way.

So ``converting(convert)`` first converts with tf2onnx's own switch for that
(``TF2ONNX_CATCH_ERRORS``, set to ``FALSE``), and where a pass raised, it converts again as
tf2onnx does by default (copies, the warning, the pass skipped): a verdict never rests on a
conversion that its users would not get. An error before or after the passes (an
unsupported op) is tf2onnx's either way and is raised as is, without converting twice.

Only where this very ``optimize_graph`` is the one whose two ways were compared (its source's
hash is in ``COMPARED``): an edited, patched, fault-injected or other release's
``optimize_graph`` runs as tf2onnx runs it by default, as does every conversion of a process
whose user set ``TF2ONNX_CATCH_ERRORS`` themselves (the stages declare it, so the stage cache
keys their conversions by it). ``PARITY_TF2ONNX_COPIES=1`` makes every conversion take
tf2onnx's default way. How the two ways were compared: docs/benchmarks.md, "tf2onnx's graph
copies".
"""

from __future__ import annotations

import hashlib
import inspect
import os
import threading
import traceback
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from harness.core.frameworks import TF2ONNX_CATCH_ERRORS, TF2ONNX_COPIES

T = TypeVar("T")

# sha256 of ``inspect.getsource(tf2onnx.optimizer.optimize_graph)``: tf2onnx 1.16.1 and
# 1.17.0 (one function in both).
COMPARED = frozenset({
    "8184c9b66c1694a108a027ca4e9932779a59a537ad24e6b651f01bf9b1575302",
})
WITHOUT_COPIES = "FALSE"

# The variable is the process's: one tf2onnx conversion at a time reads it, and a conversion
# inside one (the same thread) finds it set and runs as the outer one does.
_environment = threading.RLock()


def converting(convert: Callable[[], T]) -> T:
    """``convert()`` (a tf2onnx conversion), its passes run without copies where that gives
    tf2onnx's own result; else as tf2onnx runs by default."""
    with _environment:
        if not without_copies():
            return convert()
        os.environ[TF2ONNX_CATCH_ERRORS] = WITHOUT_COPIES
        try:
            return convert()
        except Exception as exc:
            if not raised_in_passes(exc):
                raise
        finally:
            del os.environ[TF2ONNX_CATCH_ERRORS]
        return convert()  # a pass raised: tf2onnx's default skips it, on copies


def without_copies() -> bool:
    """Whether this process converts without the copies: the user left tf2onnx's switch and
    parity's unset, and the ``optimize_graph`` tf2onnx runs now is one that was compared."""
    return (TF2ONNX_CATCH_ERRORS not in os.environ
            and os.environ.get(TF2ONNX_COPIES, "") in ("", "0")
            and optimize_graph_hash() in COMPARED)


def optimize_graph_hash() -> str | None:
    """The hash of the source of the ``optimize_graph`` tf2onnx's module holds now: one
    patched in memory since an earlier conversion (a plugin, a test's fault) is hashed anew."""
    try:
        from tf2onnx import optimizer
    except ImportError:
        return None
    return _source_hash(optimizer.optimize_graph)


@lru_cache(maxsize=8)
def _source_hash(function) -> str | None:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # no source to read: tf2onnx's default way
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def raised_in_passes(exc: BaseException) -> bool:
    """Whether ``exc`` came out of tf2onnx's optimiser passes (through ``optimize_graph``),
    where its default catches it."""
    from tf2onnx import optimizer

    code = optimizer.optimize_graph.__code__
    return any(frame.f_code is code for frame, _ in traceback.walk_tb(exc.__traceback__))
