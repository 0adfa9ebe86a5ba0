"""How a pytest-xdist worker ends: its exit handlers run, then the process goes at once,
without the interpreter's teardown.

A worker that ran cases holds TensorFlow, torch and onnx and the collected tests: some
800,000 objects (harness.core.collector). After the exit handlers, Python's finalisation
frees them module by module, and the frameworks' own destructors run: about 1.5 s of CPU
for a process that only imported the frameworks, more for a worker (docs/benchmarks.md,
"How a worker ends"). Nothing a run keeps is lost by skipping it:

- the worker has sent its last report and its output (``workerfinished``) when pytest
  unconfigures, and pytest-xdist then takes the channel's end as the end of a worker that
  finished, not as a crash;
- every exit handler (``atexit``) still runs, all of them, in the order Python would run
  them: a coverage data file, the fork server's and the isolation workers' close, the
  temporary folders' removal;
- parity's result files are flushed line by line (harness.results), and the standard
  streams are flushed here.

What is skipped is freeing memory the process gives back by ending, and pytest's cleanups
after ``pytest_unconfigure``, which put back state (``sys.path``, hooks, capturing) that
ends with the process. ``PARITY_WORKER_TEARDOWN=1`` keeps Python's own ending, for a leak
checker that reports at finalisation.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

ENVIRONMENT = "PARITY_WORKER_TEARDOWN"


def ends_at_once(config, environ=os.environ) -> bool:
    """True in a pytest-xdist worker (``config.workerinput``) unless $PARITY_WORKER_TEARDOWN
    is ``1``."""
    return (getattr(config, "workerinput", None) is not None
            and environ.get(ENVIRONMENT, "").strip() != "1")


def end_now(status: int = 0) -> None:
    """Runs the exit handlers, flushes the standard streams and ends the process."""
    # The private name is the interpreter's own way to run them; they are then not run again.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
