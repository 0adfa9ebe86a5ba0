"""Framework log lines silenced at the file descriptor, for ``-q``.

TensorFlow, XLA and absl write from C++ straight to file descriptor 2, some before any
setting of theirs is read ("All log messages before absl::InitializeLog() is called are
written to STDERR", CUDA probing), and Python loggers that frameworks made at import hold the
``sys.stderr`` of that moment. Neither ``TF_CPP_MIN_LOG_LEVEL`` nor a logging level reaches all
of them, so under ``-q`` descriptor 2 points at a scratch file (worker processes inherit it),
and parity's own lines go to the terminal through a ``sys.stderr`` kept on a copy of the
original descriptor. Python warnings are ignored for the same span.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

STDERR = 2


@contextlib.contextmanager
def framework_logs_silenced():
    """Within it, whatever is written to descriptor 2 is dropped, except through the
    ``sys.stderr`` it installs; both are restored on leaving."""
    previous = sys.stderr
    previous.flush()
    kept = os.dup(STDERR)
    # A sys.stderr that is not descriptor 2 (pytest's capture, a caller's own stream) already
    # keeps parity's lines apart from the descriptor, and stays.
    own = (open(kept, "w", buffering=1, encoding=previous.encoding or "utf-8",  # noqa: SIM115
                errors="backslashreplace", closefd=False)
           if _is_descriptor_2(previous) else previous)
    with tempfile.TemporaryFile() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(scratch.fileno(), STDERR)
        sys.stderr = own
        try:
            yield
        finally:
            own.flush()
            sys.stderr = previous
            os.dup2(kept, STDERR)
            if own is not previous:
                own.close()
            os.close(kept)


def _is_descriptor_2(stream) -> bool:
    try:
        return stream.fileno() == STDERR
    except (AttributeError, OSError, ValueError):
        return False
