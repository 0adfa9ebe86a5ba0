"""What tf2onnx's Python API converts past: an op handler or a rewriter that raised.

``tf2onnx.convert.from_keras``, ``from_function``, ``from_graph_def`` and ``from_tflite`` call
``process_tf_graph`` with ``continue_on_error=True``. Where a node's handler raises, tf2onnx
logs "Failed to convert node" with the traceback and leaves the node as TensorFlow wrote it;
where a rewriter raises, it logs "rewriter ...: exception" and goes on without that rewrite.
Its command line (``python -m tf2onnx.convert``, ``--continue_on_error`` off) and its own
tests (``continue_on_error=False``) stop there. A node left as TensorFlow wrote it may pass
for ONNX (``Mul``, ``Add``, ``Relu`` keep their names) and compute the same, so the numbers
alone would not show the fault: ``refusing_skipped_work`` fails the conversion with the first
exception tf2onnx went on after, naming the node or rewriter.

tf2onnx's optimiser passes are not this: tf2onnx skips a raising pass on every path, its
command line included (``harness.converters.tf2onnx_passes``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

# tf2onnx's module that converts the nodes and runs the rewriters, and logs what raised
LOGGER = "tf2onnx.tfonnx"


class SkippedByTf2onnx(RuntimeError):
    """tf2onnx raised in a node's handler or a rewriter and its Python API went on."""


class _Skipped(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if (described := _describe(record)) is not None:
            self.found.append(described)


def _describe(record: logging.LogRecord) -> str | None:
    """What a record of tf2onnx's says it went on after, or None for any other record."""
    if record.msg.startswith("Failed to convert node") and len(record.args) == 3:
        node, handler, summary = record.args
        op = re.search(r"OP=(\S+)", str(summary))
        error = record.exc_info[1] if record.exc_info else None
        return (f"tf2onnx could not convert node {node!r}"
                f"{f' ({op.group(1)})' if op else ''}: its handler "
                f"{getattr(handler, '__qualname__', handler)} raised {_exception(error)}")
    if record.msg.startswith("rewriter %s: exception") and len(record.args) == 2:
        rewriter, error = record.args
        return (f"tf2onnx's rewriter {getattr(rewriter, '__name__', rewriter)} raised "
                f"{_exception(error)}")
    return None


def _exception(error: object) -> str:
    if not isinstance(error, BaseException):
        return "an exception"
    return f"{type(error).__name__}: {error}".rstrip(": ")


@contextmanager
def refusing_skipped_work() -> Iterator[None]:
    """Raises ``SkippedByTf2onnx`` after the block where tf2onnx went on after a raising
    handler or rewriter in it (its log says so, at ERROR, whatever level the user set)."""
    logger = logging.getLogger(LOGGER)
    skipped = _Skipped()
    level = logger.level
    if not logger.isEnabledFor(logging.ERROR):  # the user quietened tf2onnx: still listen
        logger.setLevel(logging.ERROR)
    logger.addHandler(skipped)
    try:
        yield
    finally:
        logger.removeHandler(skipped)
        logger.setLevel(level)
    if skipped.found:
        more = len(skipped.found) - 1
        raise SkippedByTf2onnx(
            skipped.found[0]
            + (f" (and {more} more: {'; '.join(skipped.found[1:3])}"
               f"{'; ...' if more > 2 else ''})" if more else "")
            + ". tf2onnx's Python API went on without it (continue_on_error=True); its command "
              "line and its own tests stop there")
