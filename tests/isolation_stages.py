"""A ``--parity-plugins`` module for the isolation tests: importing it registers stages that
break their process on one case only (onnx2torch otherwise, as tests/fakes.py's ``Fake``).
The faults are written here, so that the worker's stack at the crash names this file."""

import ctypes
import os
import time

from harness import converters
from tests.fakes import Fake, units, with_forward


def _segfault_on_3_units(artifact):
    if units(artifact.model) == 3:
        ctypes.string_at(0)


def _hang_on_2_units(artifact):
    if units(artifact.model) == 2:
        while True:
            time.sleep(1)


def _abort_on_3_units(module, *xs):
    outputs = module(*xs)
    if outputs.shape[-1] == 3:
        os.abort()
    return outputs


for _fake in (Fake("segfaulting", "onnx2torch", before=_segfault_on_3_units),
              Fake("hanging", "onnx2torch", before=_hang_on_2_units),
              Fake("aborting-at-run", "onnx2torch",
                   after=lambda converted: with_forward(converted, _abort_on_3_units))):
    converters.register(_fake)
