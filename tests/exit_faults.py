"""A ``--plugins`` module for the exit-code tests (tests/test_exit_codes.py): file formats and a
stage that fail on purpose, each the way one exit code of ``parity check`` describes.

Importing it adds three file formats, recognised by their suffix alone, whose loaders fail:

- ``.crash``: raises KeyError, an exception no part of parity expects (an internal error, 4);
- ``.noframework``: imports a module that is not installed (this machine cannot check, 3);
- ``.interrupt``: raises KeyboardInterrupt, as Ctrl-C does (130);

and the stage ``onnx-exit-negated`` (ONNX to ONNX: the model's outputs negated; a converter
that gets it wrong, 1).
"""

from __future__ import annotations

from pathlib import Path

from onnx import helper

from harness.converters import register
from harness.sources.file.detector import add_format
from tests.fakes import onnx_rewrite

NO_SUCH_FRAMEWORK = "parity_no_such_framework"
DELIBERATE = "a deliberate fault of tests/exit_faults.py"


class _Format:
    START = "onnx"

    def __init__(self, suffix: str, fail):
        self.FORMAT = f"exit-test{suffix.replace('.', '-')}"
        self.suffix, self.fail = suffix, fail
        self.__name__ = f"{__name__}.{self.FORMAT}"

    def recognises(self, path: Path, head: bytes | None, weights: Path | None) -> bool:
        return path.suffix == self.suffix

    def load(self, path: Path, weights: Path | None, outputs: list[str] | None = None):
        self.fail()


def _crash():
    raise KeyError(DELIBERATE)


def _no_framework():
    __import__(NO_SUCH_FRAMEWORK)


def _interrupt():
    raise KeyboardInterrupt


def _negate_outputs(model) -> None:
    graph = model.graph
    for output in graph.output:
        inner = f"{output.name}_before_negation"
        for node in graph.node:
            node.output[:] = [inner if name == output.name else name for name in node.output]
        graph.node.append(helper.make_node("Neg", [inner], [output.name]))


FORMATS = [_Format(".crash", _crash), _Format(".noframework", _no_framework),
           _Format(".interrupt", _interrupt)]
for _format in FORMATS:
    add_format(_format)
register(onnx_rewrite("onnx-exit-negated", _negate_outputs))
