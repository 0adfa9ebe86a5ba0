"""One call in a forked child, so that a crash of C++ code (a signal) is the call's error and
not the death of the process that made it (onnxoptimizer's passes: harness.converters.
onnxoptimizer_stage, harness.tools.pass_coverage).

``in_child``'s source is also written, as it is, into the standalone scripts of the stages
that use it (``ScriptRecipe.defined``): it uses the standard library's ``os`` and ``signal``
alone and names nothing of parity, so parity and its scripts run the one code.
"""

from __future__ import annotations

import inspect
import os
import signal


def in_child(make, *args, what: str, failed=RuntimeError, crashed=RuntimeError) -> bytes:
    """``make(*args)`` (bytes) computed in a forked child: an exception there comes back as
    ``failed`` with its one line, a crash as ``crashed`` naming ``what`` and the signal. Where
    the platform cannot fork, it runs here."""
    if not hasattr(os, "fork"):
        return make(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's exit hooks
        os.close(read)
        try:
            payload, code = make(*args), 0
        except BaseException as exc:  # noqa: BLE001  (carried to the parent as text)
            payload, code = f"{type(exc).__name__}: {exc}".encode(), 1
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as found:
        payload = found.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        raise crashed(f"{what} crashed the process (signal {number}: "
                      f"{signal.Signals(number).name})")
    if os.WEXITSTATUS(status) != 0:
        text = payload.decode(errors="replace")
        raise failed(text.splitlines()[0] if text else f"{what} failed")
    return payload


def script_source() -> str:
    """``in_child`` as a standalone script defines it (its imports: ``os``, ``signal``)."""
    return inspect.getsource(in_child).rstrip()
