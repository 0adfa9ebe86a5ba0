"""The guard every standalone script starts with, before its first framework import.

Python exits 1 on an uncaught exception, and 1 says the failure reproduced: an exception that
is not the bug's own behaviour (those the script reports itself) becomes one CANNOT RUN line
and exit 3 instead, whether main() raises it (``guarded``) or an import does (the excepthook).
Generated scripts (``parity repro --script``) and the entries' own ones carry this same text.
"""

import os
import re
import sys
import traceback

CANNOT_RUN = 3  # exit code: this machine cannot run the case (no verdict on the bug)
_STEP = ["importing the frameworks"]


def step(what):
    """Names what the script does next: the CANNOT RUN line of a failure there says it."""
    _STEP[0] = what


def gist(exc):
    """An exception's type and first telling line (TensorFlow's without its op's location)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m|\{\{function_node [^}]*\}\}", "", line).strip()
             for line in str(exc).splitlines()]
    first = next((line for line in lines if line and not line.startswith("Exception encountered")),
                 "")
    return f"{type(exc).__name__}: {first[:240]}"


def cannot_run(exc):
    """The one line of a case this machine cannot run, after the traceback (on stderr)."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    print(f"CANNOT RUN: {_STEP[0]} ({gist(exc)}) (exit {CANNOT_RUN})", flush=True)
    return CANNOT_RUN


def guarded(run):
    """run()'s exit code; an exception it leaves uncaught cannot run the case here."""
    try:
        return run()
    except Exception as exc:
        return cannot_run(exc)


def _uncaught(kind, exc, tb):  # an exception outside guarded(): an import, most often
    if not issubclass(kind, Exception):
        return sys.__excepthook__(kind, exc, tb)
    cannot_run(exc)
    sys.stderr.flush()
    os._exit(CANNOT_RUN)


sys.excepthook = _uncaught
