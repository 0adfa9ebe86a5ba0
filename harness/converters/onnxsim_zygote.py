"""The ``onnxsim`` command onnx2tf runs, without paying onnxsim's import each time.

onnx2tf simplifies its input by running the ``onnxsim`` command three times in a row (in
subprocesses, on purpose: onnxsim can crash), and importing onnxsim costs about 2.3 s of CPU
a process, most of an onnx2tf conversion of a small model (docs/rewriters.md#what-they-cost).
The onnx2tf worker (``harness.converters.onnx2tf_worker``) starts one zygote: a process
that imports onnxsim once and then waits on a Unix socket. It puts a small ``onnxsim``
command first on its own ``PATH``; onnx2tf runs that command as it ran onnxsim's, and the
command hands its arguments, working folder, environment and its standard input, output and
error (the file descriptors themselves) to the zygote, which forks a child that runs
onnxsim's own ``main`` on them, as the real command would, and exits with its status. The
command exits with the child's status, or dies of the child's signal, so onnx2tf sees what it
saw before: the same output file, the same printed text, the same failure on a crash.

Where the zygote cannot start (onnxsim does not import), nothing is put on the ``PATH``:
onnx2tf runs the real command. ``PARITY_ONNXSIM_ZYGOTE=0`` turns it off.

    python -m harness.converters.onnxsim_zygote SOCKET   # the zygote (the worker starts it)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

SWITCH = "PARITY_ONNXSIM_ZYGOTE"
MESSAGE_LIMIT = 1 << 20  # the arguments, folder and environment of one call, as JSON
# The command onnx2tf runs: the standard library only (no site-packages), so it starts in
# milliseconds. It passes its own descriptors 0, 1 and 2 and waits for the child's status.
COMMAND = '''#!{python} -IS
import json, os, signal, socket, sys
message = json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(),
                      "env": dict(os.environ)}}).encode()
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
    sock.connect({socket!r})
    socket.send_fds(sock, [message], [0, 1, 2])
    sock.shutdown(socket.SHUT_WR)
    reply = b"".join(iter(lambda: sock.recv(65536), b""))
status = json.loads(reply or b'{{"exit": 1}}')
if "signal" in status:
    signal.signal(status["signal"], signal.SIG_DFL)
    os.kill(os.getpid(), status["signal"])
sys.exit(status.get("exit", 1))
'''


class Zygote:
    """A zygote process and the folder holding its socket and the ``onnxsim`` command."""

    def __init__(self, process: subprocess.Popen, folder: tempfile.TemporaryDirectory):
        self.process = process
        self._folder = folder
        self.bin = Path(folder.name) / "bin"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the zygote ends when its input does
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._folder.cleanup()


def start(env: dict[str, str] | None = None, within: str | None = None) -> Zygote | None:
    """Starts a zygote and writes the command that calls it; None (nothing started) where
    it is turned off or onnxsim does not import. Its folder (socket and command) is made in
    ``within`` where given, so that whoever removes that folder removes it too."""
    env = dict(os.environ if env is None else env)
    if env.get(SWITCH, "1") == "0":
        return None
    folder = tempfile.TemporaryDirectory(prefix="parity-onnxsim-", dir=within)
    path = Path(folder.name) / "zygote.sock"
    process = subprocess.Popen([sys.executable, "-m", __name__, str(path)], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    ready = process.stdout.readline().strip()
    if ready != b"ready":
        process.kill()
        process.wait()
        folder.cleanup()
        return None
    zygote = Zygote(process, folder)
    zygote.bin.mkdir()
    command = zygote.bin / "onnxsim"
    command.write_text(COMMAND.format(python=sys.executable, socket=str(path)),
                       encoding="utf-8")
    command.chmod(0o755)
    return zygote


# -- the zygote ---------------------------------------------------------------------------------

def serve(path: str) -> None:
    from onnxsim import main as onnxsim_main  # the import every call would pay

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            os._exit(0)  # the worker is gone (and nothing to tidy: its folder goes with it)
        if listener in readable:
            connection, _ = listener.accept()
            with connection:
                _one_call(connection, listener, onnxsim_main)


def _one_call(connection: socket.socket, listener: socket.socket, onnxsim_main) -> None:
    data, fds, _flags, _addr = socket.recv_fds(connection, MESSAGE_LIMIT, 3)
    while chunk := connection.recv(65536):
        data += chunk
    try:
        call = json.loads(data)
        pid = os.fork()
    except BaseException as exc:  # noqa: BLE001  (the command reports a failure)
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"exit": 1, "error": repr(exc)}).encode())
        return
    if pid == 0:
        listener.close()
        _child(call, fds, onnxsim_main)
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    reply = ({"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
             else {"exit": os.waitstatus_to_exitcode(status)})
    connection.sendall(json.dumps(reply).encode())


def _child(call: dict, fds: list[int], onnxsim_main) -> None:
    """onnxsim's command, run in the fork: its descriptors, folder, environment and
    arguments are the caller's. Never returns."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.chdir(call["cwd"])
        os.environ.clear()
        os.environ.update(call["env"])
        sys.argv = ["onnxsim", *call["argv"]]
        try:
            result = onnxsim_main()
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001  (as the interpreter reports an uncaught error)
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])
