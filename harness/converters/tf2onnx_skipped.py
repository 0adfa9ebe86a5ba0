"""What tf2onnx's Python API converts past: an op handler or a rewriter that raised.

``tf2onnx.convert.from_keras``, ``from_function``, ``from_graph_def`` and ``from_tflite`` call
``process_tf_graph`` with ``continue_on_error=True``. Where a node's handler raises, tf2onnx
logs "Failed to convert node" with the traceback and leaves the node as TensorFlow wrote it;
where a rewriter raises, it logs "rewriter ...: exception" and goes on without that rewrite.
Its command line (``python -m tf2onnx.convert``, ``--continue_on_error`` off) and its own
tests (``continue_on_error=False``) stop there. A node left as TensorFlow wrote it may pass
for ONNX (``Mul``, ``Add``, ``Log`` keep their names) and compute the same, so the numbers
alone would not show the fault. A TensorFlow op tf2onnx has no handler for at all it logs
("Tensorflow op [...] is not supported") and leaves in the graph on every path, its command
line's included: a model onnxruntime refuses (Keras 3's argmax of floats holds Bitcast and
BitwiseAnd, tensorflow-onnx#1985), whose failure says only that ONNX has no such op.
``listening`` collects what tf2onnx went on after, and ``skipped_meta`` puts it in the
artifact's ``SKIPPED_WORK`` (an unsupported op only where the model still holds one): the leg
is an error where it would pass, and a failing leg keeps its failure (which its known issues
recognise) and notes it (harness.run.pipeline).

tf2onnx's optimiser passes are not this: tf2onnx skips a raising pass on every path, its
command line included (``harness.converters.tf2onnx_passes``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from harness.core.artifact import SKIPPED_WORK
from harness.core.structure.models import graphs

# tf2onnx's module that converts the nodes and runs the rewriters, and logs what raised
LOGGER = "tf2onnx.tfonnx"


class Found(list):
    """What tf2onnx went on after, one line each; ``unsupported`` holds the TensorFlow ops it
    has no handler for, by op type, each with the line that says so."""

    def __init__(self) -> None:
        super().__init__()
        self.unsupported: dict[str, str] = {}


class _Skipped(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found = Found()

    def emit(self, record: logging.LogRecord) -> None:
        if (unsupported := _unsupported(record)) is not None:
            op, line = unsupported
            self.found.unsupported.setdefault(op, line)
        elif (described := _describe(record)) is not None:
            self.found.append(described)


def _unsupported(record: logging.LogRecord) -> tuple[str, str] | None:
    """(op type, a line) where the record is tf2onnx finding no handler for a node's op."""
    message = record.msg if isinstance(record.msg, str) else ""
    if not message.startswith("Tensorflow op [") or len(record.args or ()) != 2:
        return None
    node, op = map(str, record.args)
    return op, (f"tf2onnx has no handler for TensorFlow's {op} (node {node!r}) and left it "
                f"in the ONNX graph as TensorFlow wrote it")


def _describe(record: logging.LogRecord) -> str | None:
    """What a record of tf2onnx's says it went on after, or None for any other record."""
    message = record.msg if isinstance(record.msg, str) else ""
    if message.startswith("Failed to convert node") and len(record.args) == 3:
        node, handler, summary = record.args
        op = re.search(r"OP=(\S+)", str(summary))
        error = record.exc_info[1] if record.exc_info else None
        return (f"tf2onnx could not convert node {node!r}"
                f"{f' ({op.group(1)})' if op else ''}: its handler "
                f"{getattr(handler, '__qualname__', handler)} raised {_exception(error)}")
    if message.startswith("rewriter %s: exception") and len(record.args) == 2:
        rewriter, error = record.args
        return (f"tf2onnx's rewriter {getattr(rewriter, '__name__', rewriter)} raised "
                f"{_exception(error)}")
    return None


def _exception(error: object) -> str:
    if not isinstance(error, BaseException):
        return "an exception"
    return f"{type(error).__name__}: {error}".rstrip(": ")


@contextmanager
def listening() -> Iterator[Found]:
    """The list of what tf2onnx went on after in the block, one line each (its log says so,
    at ERROR, whatever level the user set for it)."""
    logger = logging.getLogger(LOGGER)
    skipped = _Skipped()
    level, propagate = logger.level, logger.propagate
    if not logger.isEnabledFor(logging.ERROR):
        # the user quietened tf2onnx: listen, and keep what it says from their own handlers
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    logger.addHandler(skipped)
    try:
        yield skipped.found
    finally:
        logger.removeHandler(skipped)
        logger.setLevel(level)
        logger.propagate = propagate


def skipped_meta(found: list[str], model=None) -> dict[str, str]:
    """``{SKIPPED_WORK: the first thing tf2onnx went on after, and how many more}``, or {}
    where it went on after nothing (a conversion tried twice logs the same node twice). An
    op tf2onnx has no handler for counts where ``model``, the ONNX it wrote, still holds a
    node of it (a node a later rewrite removed did no harm)."""
    left = getattr(found, "unsupported", {})
    if model is not None:
        held = {node.op_type for graph in graphs(model.graph) for node in graph.node}
        left = {op: line for op, line in left.items() if op in held}
    raised = list(dict.fromkeys(found))
    unique = [*left.values(), *raised]
    if not unique:
        return {}
    more = len(unique) - 1
    text = unique[0] + (f" (and {more} more: {'; '.join(unique[1:3])}"
                        f"{'; ...' if more > 2 else ''})" if more else "")
    if raised:  # an op without a handler is left on every path; a raising one only here
        text += ("; tf2onnx's Python API went on without it (continue_on_error=True), where "
                 "its command line and its own tests stop")
    return {SKIPPED_WORK: text}
