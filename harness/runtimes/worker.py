"""A persistent worker process spoken to in JSON lines: the parent's client and the child's end.

Two parts of parity keep a child process for many requests: process isolation
(``harness.run.isolation``) and the Keras-on-torch stage (``harness.sources.keras.torch_worker``). Both
talk to it the same way, written here once:

- The child is a fresh interpreter, ``python -m MODULE READ_FD WRITE_FD``, never a fork (a
  fork copies the locks of running thread pools in whatever state they are in), in a session
  of its own (a terminal's Ctrl-C goes to the parent, which stops its workers).
- Requests and replies are JSON objects, one a line, on two pipes of their own. Whatever the
  child or its libraries print goes to its stdout and stderr, which a thread in the parent
  drains into a tail of lines (the last words quoted when the child dies), never into the
  protocol.
- ``receive`` waits for the next message until a deadline: past it, ``TimeoutError``; None
  when the child closed its pipe (it died). What that means is the caller's to say.
  ``kill`` ends the child, after having it print every thread's stack if asked
  (``Channel.open`` registers faulthandler on SIGUSR1).
- Each child has a temporary folder of its own (``TMPDIR``), removed once it has ended, however
  it ended: a child killed for a hang or a crash leaves none of its temporary files behind (a
  SavedModel it was exporting, TensorFlow's autograph files). torch.compile's cache, which
  processes share, stays where it would have been.
"""

from __future__ import annotations

import collections
import contextlib
import faulthandler
import getpass
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

STACK_SIGNAL = signal.SIGUSR1  # the child prints every thread's Python stack on it


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    return str(value)


def dumps(obj: Any) -> str:
    """One JSON line's text; NumPy values as lists, anything else unknown as its ``str``."""
    return json.dumps(obj, default=_default)


def _write_line(fd: int, message: dict[str, Any]) -> None:
    data = (dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


# -- the parent's side -------------------------------------------------------------------------

def _inductor_cache_default(temporary: str) -> str:
    """Where torch.compile keeps its cache in a process whose temporary folder is
    ``temporary`` (torch._inductor's ``default_cache_dir``, its fallbacks included)."""
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    user = re.sub(r'[\\/:*?"<>|]', "_", user)
    return os.path.join(temporary, f"torchinductor_{user}")


def child_environment(env: dict[str, str], scratch: str) -> dict[str, str]:
    """``env`` with the child's temporary files in ``scratch``: ``TMPDIR`` (which Python's
    ``tempfile``, TensorFlow and onnxruntime read), and torch.compile's cache kept at the
    parent's default unless ``env`` names one (a cache other processes share must outlive
    the child)."""
    inductor = _inductor_cache_default(env.get("TMPDIR") or tempfile.gettempdir())
    return {"TORCHINDUCTOR_CACHE_DIR": inductor, **env, "TMPDIR": scratch}


class WorkerProcess:
    """One child process at a time, running ``python -m module``; ``start`` replaces it.

    ``env`` is the child's environment (None: this process'); ``tail_lines`` how many of its
    last output lines are kept.
    """

    def __init__(self, module: str, *, env: dict[str, str] | None = None,
                 tail_lines: int = 60):
        self.module = module
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0  # how many children this client has started
        self.output: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.output_lines = 0  # lines drained since the start, the tail's dropped ones included
        self._to_child: int | None = None
        self._from_child: int | None = None
        self._buffer = b""
        self._drainer: threading.Thread | None = None
        self.scratch: str | None = None  # the running child's temporary folder
        self._remove_scratch: weakref.finalize | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Starts a child (ending the one before, if any) without waiting for it."""
        self.close()
        scratch = tempfile.mkdtemp(prefix=f"parity-{self.module.rsplit('.', 1)[-1]}-")
        # At this process' exit too, where no owner closed the worker.
        remove_scratch = weakref.finalize(self, shutil.rmtree, scratch, True)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=child_environment(dict(os.environ if self.env is None else self.env),
                                      scratch),
                start_new_session=True,
            )
        except BaseException:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            remove_scratch()
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._to_child, self._from_child = to_child_w, from_child_r
        self.scratch, self._remove_scratch = scratch, remove_scratch
        self._buffer = b""
        self.starts += 1
        self.output.clear()
        self.output_lines = 0
        self._drainer = threading.Thread(target=self._drain, args=(self.process.stdout,),
                                         daemon=True, name=f"{self.module}-output")
        self._drainer.start()

    def _drain(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self.output_lines += 1
        stream.close()

    # -- the pipe ------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        """Raises ``OSError`` (``BrokenPipeError``) when the child is gone."""
        if self._to_child is None:
            raise BrokenPipeError(f"no {self.module} worker is running")
        _write_line(self._to_child, message)

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, None when the child is gone; ``TimeoutError`` at the deadline
        (a ``time.monotonic()`` value)."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            readable, _, _ = select.select([self._from_child], [], [], min(left, 1.0))
            if not readable:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    # -- its end -------------------------------------------------------------------------------
    def exit_text(self) -> str:
        """How the child ended: 'was killed by SIGSEGV (signal 11)', 'exited with status 3'."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "closed its pipe but is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name} (signal {-code})"
        return f"exited with status {code}"

    def tail(self) -> str:
        """The child's last output lines; all of them once it has ended."""
        if self._drainer is not None and self.process is not None \
                and self.process.poll() is not None:
            self._drainer.join(timeout=5)
        return "\n".join(self.output)

    def kill(self, stack_first: bool = False, quiet_s: float = 1.0) -> None:
        """Kills the child and reaps it. ``stack_first``: it prints every thread's stack
        first, and is killed once its output has been quiet for ``quiet_s`` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            self._forget_scratch()
            return
        if stack_first:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(STACK_SIGNAL)
            quiet_since, seen = time.monotonic(), self.output_lines
            while time.monotonic() - quiet_since < quiet_s and process.poll() is None:
                time.sleep(0.1)
                if self.output_lines != seen:
                    seen, quiet_since = self.output_lines, time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        self._forget_scratch()

    def _forget_scratch(self) -> None:
        """Removes the temporary folder of a child that has ended."""
        if self._remove_scratch is not None:
            self._remove_scratch()
        self.scratch = self._remove_scratch = None

    def close(self, goodbye: dict[str, Any] | None = None, grace_s: float = 10.0) -> None:
        """Ends the child: sends it ``goodbye`` (if given) and gives it ``grace_s`` seconds
        to exit, then kills it; closes the pipes. A later ``start`` makes a fresh one."""
        process = self.process
        if goodbye is not None and self.alive():
            with contextlib.suppress(OSError):
                self.send(goodbye)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace_s)
        self.kill()
        self.process = None
        for fd in (self._to_child, self._from_child):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_child = self._from_child = None
        if self._drainer is not None:
            self._drainer.join(timeout=5)
            self._drainer = None


# -- the child's side --------------------------------------------------------------------------

class Channel:
    """The child's end of the pipes: requests in, replies out, one JSON object a line."""

    def __init__(self, read_fd: int, write_fd: int):
        self.reader = os.fdopen(read_fd, "rb")
        self.write_fd = write_fd

    @classmethod
    def open(cls, argv: list[str]) -> Channel:
        """The channel named by the child's arguments (``READ_FD WRITE_FD``). Enables
        faulthandler: a crash prints the Python stack to stderr, and so does SIGUSR1."""
        faulthandler.enable(all_threads=True)
        faulthandler.register(STACK_SIGNAL, all_threads=True)
        read_fd, write_fd = int(argv[0]), int(argv[1])
        for fd in (read_fd, write_fd):  # the pipes are the worker's own, not its subprocesses'
            os.set_inheritable(fd, False)
        return cls(read_fd, write_fd)

    def send(self, message: dict[str, Any]) -> None:
        _write_line(self.write_fd, message)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The requests, until the parent closes its end (it is gone)."""
        for line in self.reader:
            if line.strip():
                yield json.loads(line)
