"""The exit codes every ``parity`` command shares beyond its own 0, 1 and 2, and what a command
does with an exception it did not expect (docs/check.md, "Exit status").

Python exits 1 on an uncaught exception, and 1 is a verdict in parity (a leg that does not
agree, a failure that reproduces): no exception leaves a command uncaught. One that says this
machine lacks a framework is ``CANNOT_RUN_HERE``; any other is parity's own bug,
``INTERNAL_ERROR``, told in one line that names a file holding what a report needs (the
command, the versions, the traceback), never a bare traceback on the terminal.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from harness import __version__
from harness.core.frameworks import RECORDED_ENVIRONMENT, versions

CANNOT_RUN_HERE = 3  # a framework the command needs does not import on this machine
INTERNAL_ERROR = 4  # parity's own bug
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
DEBUG_VARIABLE = "PARITY_DEBUG"  # set: an unexpected exception is raised as it is
OWN_PACKAGE = "harness"


def missing_framework(exc: BaseException) -> str | None:
    """The module an ImportError says does not import, where it is not parity's own (a
    framework or one of its dependencies); None for any other exception."""
    if not isinstance(exc, ImportError):
        return None
    name = exc.name or ""
    if not name or name.split(".")[0] == OWN_PACKAGE:
        return None
    return name


def first_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def crash_text(exc: BaseException, command: str) -> str:
    """What a report of parity's bug needs: the command, where it ran, the versions of parity
    and of every framework it drives, and the traceback."""
    try:
        stack = ", ".join(f"{name} {version}" for name, version in versions().items())
    except Exception as failure:  # noqa: BLE001  (the report goes on without them)
        stack = f"(unreadable: {first_line(failure)})"
    environment = ", ".join(f"{name}={os.environ.get(name, '(unset)')}"
                            for name in RECORDED_ENVIRONMENT)
    return "\n".join([
        "parity internal error: please report it with this file",
        f"command:     {command}",
        f"directory:   {os.getcwd()}",
        f"when:        {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"parity:      {__version__} ({Path(__file__).resolve().parents[1]})",
        f"python:      {platform.python_version()} ({sys.executable}) on {platform.platform()}",
        f"frameworks:  {stack}",
        f"environment: {environment}",
        "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(),
        "",
    ])


def save_crash(exc: BaseException, command: str) -> Path | None:
    """The crash report written to a fresh file in the temporary folder; None when it cannot
    be written."""
    try:
        handle, name = tempfile.mkstemp(prefix=f"parity-crash-{time.strftime('%Y%m%d-%H%M%S')}-",
                                        suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            fh.write(crash_text(exc, command))
    except OSError:
        return None
    return Path(name)


def escaped(prog: str, exc: Exception, command: str) -> tuple[int, str]:
    """The exit code and the one line for an exception that escaped a command ``prog``
    (``parity check``): a framework missing here, else parity's own bug (its report saved
    to a file the line names)."""
    missing = missing_framework(exc)
    if missing is not None:
        return CANNOT_RUN_HERE, (
            f"{prog}: cannot run here: {missing.split('.')[0]} does not import "
            f"({first_line(exc)}); install it (pip install -e \".[all]\" installs every "
            f"framework parity drives)")
    saved = save_crash(exc, command)
    where = (f"all saved in {saved}" if saved is not None else
             "and this traceback:\n" + "".join(traceback.format_exception(type(exc), exc,
                                                                          exc.__traceback__)))
    return INTERNAL_ERROR, (
        f"{prog}: internal error ({first_line(exc)}): a bug in parity, not in your model or a "
        f"converter; please report it with the command, the versions and the traceback, "
        f"{where} ({DEBUG_VARIABLE}=1 raises it here instead)")
