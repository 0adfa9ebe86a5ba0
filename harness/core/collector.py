"""Python's cyclic garbage collector while parity runs cases: in pytest and its workers, and
in the onnx2tf and keras-torch worker processes.

A process that runs cases holds TensorFlow, Keras, torch and onnx: some 700,000 objects once
imported. Python's default thresholds (700, 10, 10) collect the youngest generation every
700 allocations and the older ones every 10 of those, and each full collection walks the whole
heap; converting a model allocates millions of short-lived objects. Measured on two cores
(docs/benchmarks.md, "The garbage collector"), ``(20000, 20, 20)`` took the whole main job
from 595 to 570 s of CPU and the ONNX op suite from 73 to 68 s (means of two runs), the peak
memory the same. Only when the collector runs changes: every unreachable cycle is still freed.

Once a pytest process has collected its tests, the objects every case shares (the frameworks'
modules, the collected tests: some 790,000, of which 193 unreachable when measured) are frozen
(``gc.freeze``) into the permanent generation, with no collection first: a full collection
then walks only what the cases made since, and pytest's own collections at its exit (five)
walk next to nothing: in a main job where every stage hits, the collector's time fell from
7.8-8.1 s to 6.1 s over all processes (docs/benchmarks.md, "The garbage collector").
"""

from __future__ import annotations

import atexit
import gc
import os

CASE_THRESHOLDS = (20000, 20, 20)
ENVIRONMENT = "PARITY_GC_THRESHOLDS"  # "700,10,10" (three integers), or "python": its own


def thresholds_for_cases(environ=os.environ) -> tuple[int, ...] | None:
    """The thresholds to run cases under: ``$PARITY_GC_THRESHOLDS`` where set (None for
    "python", which leaves Python's), else ``CASE_THRESHOLDS``; a ValueError naming the
    variable for anything else."""
    text = environ.get(ENVIRONMENT, "").strip()
    if not text:
        return CASE_THRESHOLDS
    if text.lower() == "python":
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or any(v < 0 for v in values):
        raise ValueError(f"{ENVIRONMENT}={text!r}: expected three integers, as "
                         "'20000,20,20' (gc.set_threshold's), or 'python' for Python's own")
    return values


def tune_for_cases(environ=os.environ) -> None:
    thresholds = thresholds_for_cases(environ)
    if thresholds is not None:
        gc.set_threshold(*thresholds)


def freeze_what_is_loaded(environ=os.environ) -> None:
    """Moves every object tracked now out of the collector's reach (``gc.freeze``): what is
    loaded once tests are collected lives as long as the process. Nothing where the collector
    is left as Python has it (``$PARITY_GC_THRESHOLDS=python``)."""
    if thresholds_for_cases(environ) is not None:
        gc.freeze()
        # Given back before the interpreter finalises, which frees them as it would have:
        # an extension that counts what outlives it (triton's nanobind) finds nothing left.
        atexit.register(gc.unfreeze)
