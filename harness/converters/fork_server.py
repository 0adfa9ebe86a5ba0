"""A call on an ONNX model in a forked child (``harness.converters.forked``), forked from a
small server process rather than from the caller.

A fork costs in proportion to the memory of the process that forks: a pytest worker holding
torch, TensorFlow and a run's cases (1 to 2 GB) paid 36 to 57 ms of system time a fork (page
tables, then copy-on-write faults), where onnxoptimizer's passes on a drawn case take a tenth
of a millisecond. The server imports only what the called function's module imports and
forks a child of its own for every call, so a call keeps what ``forked.in_child`` gives it: a
fresh process, an exception that comes back as ``failed`` with its first line, a crash that
comes back as ``crashed`` naming the signal, in the same words, and the server lives on.

The server imports the function's module afresh, so it runs the module as its file has it. A
module offers its functions with ``serve_module(__name__)`` at its end, which notes what its
globals hold; a call from a module whose globals have changed since (a fault planted in
memory, as a test plants one) forks the caller, where the change is. So do a module that
offers nothing, a function that is not its module's (a lambda, a closure), a model that does
not serialise, a platform without ``fork`` and ``PARITY_FORK_SERVER=0``. Each process starts its own server on
first use; it ends when its caller's end of the pipe closes.

    python -m harness.converters.fork_server   # the server (``call`` starts it)
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import struct
import subprocess
import sys
import threading

from harness.converters import forked

SWITCH = "PARITY_FORK_SERVER"
_OK, _FAILED, _CRASHED = 0, 1, 2
_LENGTH = struct.Struct("<Q")


_AS_IMPORTED: dict[str, dict[str, object]] = {}


def serve_module(name: str) -> None:
    """Lets the server run module ``name``'s functions for as long as its globals hold what
    they hold now (call it at the module's end)."""
    _AS_IMPORTED[name] = dict(vars(sys.modules[name]))


def call(function, model, *args, what: str, failed=RuntimeError, crashed=RuntimeError) -> bytes:
    """``function(model, *args)`` (bytes) in a child forked from this process' server, as
    ``forked.in_child(function, model, *args, ...)`` would compute it; ``args`` must be JSON."""
    request = _request_for(function, model, args, what)
    reply = None if request is None else _SERVER.ask(request)
    if reply is None:  # not for the server, or no server (it could not start, or died)
        return forked.in_child(function, model, *args, what=what, failed=failed,
                               crashed=crashed)
    status, payload = reply
    if status == _OK:
        return payload
    raise (crashed if status == _CRASHED else failed)(payload.decode(errors="replace"))


def _importable_name(function) -> str | None:
    """``module:name`` where the server's import of the module gives ``function``."""
    module, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    noted = _AS_IMPORTED.get(module)
    if noted is None or noted.get(qualname) is not function:
        return None  # not offered, a lambda, a closure, or no longer the module's own
    held = vars(sys.modules[module])
    if len(held) != len(noted) or any(held.get(k) is not v for k, v in noted.items()):
        return None  # the module was changed in memory: the server's import would differ
    return f"{module}:{qualname}"


def _request_for(function, model, args, what: str) -> bytes | None:
    """The call as the server reads it; None where the caller must fork itself."""
    name = _importable_name(function)
    if name is None or os.environ.get(SWITCH, "1") == "0" or not hasattr(os, "fork"):
        return None
    try:
        header = json.dumps({"function": name, "args": list(args), "what": what}).encode()
        body = model.SerializeToString()
    except (TypeError, ValueError):  # arguments JSON cannot carry, a model past 2 GiB
        return None
    return _LENGTH.pack(len(header)) + header + _LENGTH.pack(len(body)) + body


class _Server:
    """This process' server: started on first use, again after it died, never shared with a
    forked child of this process (which starts its own)."""

    def __init__(self):
        self._process: subprocess.Popen | None = None
        self._owner: int | None = None
        self._lock = threading.Lock()

    def ask(self, request: bytes) -> tuple[int, bytes] | None:
        with self._lock:
            process = self._running()
            if process is None:
                return None
            try:
                process.stdin.write(request)
                process.stdin.flush()
                status = process.stdout.read(1)
                size = _LENGTH.unpack(_read_exactly(process.stdout, _LENGTH.size))[0]
                return status[0], _read_exactly(process.stdout, size)
            except (OSError, ValueError, struct.error, IndexError):  # the server died
                self.close()
                return None

    def _running(self) -> subprocess.Popen | None:
        if self._owner != os.getpid():  # a fork of the process that started it
            self._process, self._owner = None, os.getpid()
        if self._process is not None and self._process.poll() is None:
            return self._process
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            self._process = None
        return self._process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_exactly(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("the server's reply ended early")
    return data


_SERVER = _Server()
atexit.register(_SERVER.close)


# -- the server ---------------------------------------------------------------------------------

class _Failed(Exception):
    pass


class _Crashed(Exception):
    pass


def serve(requests, replies) -> None:
    """Answers requests until ``requests`` ends: each call in a forked child of this process."""
    import onnx

    while header_size := requests.read(_LENGTH.size):
        header = json.loads(_read_exactly(requests, _LENGTH.unpack(header_size)[0]))
        body = _read_exactly(requests, _LENGTH.unpack(_read_exactly(requests, _LENGTH.size))[0])
        try:
            module, _, qualname = header["function"].partition(":")
            function = getattr(importlib.import_module(module), qualname)
            payload = forked.in_child(function, onnx.load_from_string(body), *header["args"],
                                      what=header["what"], failed=_Failed, crashed=_Crashed)
            status = _OK
        except _Crashed as exc:
            status, payload = _CRASHED, str(exc).encode()
        except Exception as exc:  # noqa: BLE001  (the call's failure, in in_child's words)
            text = str(exc) if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
            status, payload = _FAILED, (text.splitlines() or [""])[0].encode()
        replies.write(bytes([status]) + _LENGTH.pack(len(payload)) + payload)
        replies.flush()


def main() -> None:
    # The replies get a descriptor of their own, and what the calls print goes to standard
    # error: a child's print on descriptor 1 would otherwise land inside a reply.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
