"""The JSON-lines worker client (harness.runtimes.worker) with a small real child: replies, deadlines,
a child that dies, and a stack dumped before a kill. No frameworks: a second or two."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness.runtimes.worker import WorkerProcess

ROOT = Path(__file__).resolve().parents[1]

CHILD = '''
import os
import sys
import time

from harness.runtimes.worker import Channel

channel = Channel.open(sys.argv[1:])
print("a stray line on stdout, never on the protocol pipe", flush=True)
channel.send({"ready": True, "pid": os.getpid()})
for request in channel:
    if request["op"] == "echo":
        channel.send({"echo": request["value"]})
    elif request["op"] == "sleep":
        while True:
            time.sleep(0.05)
    elif request["op"] == "exit":
        break
    elif request["op"] == "die":
        print("last words", file=sys.stderr, flush=True)
        os._exit(3)
'''


@pytest.fixture
def child(tmp_path):
    (tmp_path / "echo_child.py").write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    worker = WorkerProcess("echo_child", env=env)
    worker.start()
    yield worker
    worker.close()
    assert worker.pid is None


def _soon(seconds: float = 30.0) -> float:
    return time.monotonic() + seconds


def test_one_json_line_each_way_and_stray_output_in_the_tail(child):
    ready = child.receive(_soon())
    assert ready == {"ready": True, "pid": child.pid}
    child.send({"op": "echo", "value": [1, 2.5, "three"]})
    assert child.receive(_soon()) == {"echo": [1, 2.5, "three"]}
    # The tail fills from a drainer thread, after the reply perhaps: wait for it, bounded.
    stray = "a stray line on stdout, never on the protocol pipe"
    deadline = _soon(10.0)
    while stray not in child.tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stray in child.tail()
    assert child.alive() and child.starts == 1


def test_a_deadline_raises_and_a_kill_first_dumps_the_stack(child):
    child.receive(_soon())
    child.send({"op": "sleep"})
    with pytest.raises(TimeoutError):
        child.receive(time.monotonic() + 0.2)
    child.kill(stack_first=True, quiet_s=0.5)
    assert child.process.returncode == -signal.SIGKILL
    tail = child.tail()
    assert "echo_child.py" in tail and "in <module>" in tail  # faulthandler, on SIGUSR1


def test_a_child_that_dies_is_none_with_its_exit_and_last_words(child):
    child.receive(_soon())
    child.send({"op": "die"})
    assert child.receive(_soon()) is None
    assert child.exit_text() == "exited with status 3"
    assert "last words" in child.tail()
    with pytest.raises(OSError):
        child.send({"op": "echo", "value": 1})
    child.start()  # a fresh one
    assert child.receive(_soon())["ready"] and child.starts == 2


def test_close_sends_the_goodbye_and_reaps(child):
    child.receive(_soon())
    process = child.process
    started = time.monotonic()
    child.close(goodbye={"op": "exit"}, grace_s=20)
    assert time.monotonic() - started < 10  # it left on the goodbye, not killed at the grace
    assert process.returncode == 0 and child.process is None and not child.alive()


@pytest.mark.skipif(sys.platform != "linux", reason="signal names as on Linux")
def test_exit_text_names_the_signal(child):
    child.receive(_soon())
    os.kill(child.pid, signal.SIGSEGV)
    assert child.receive(_soon()) is None
    assert child.exit_text() == "was killed by SIGSEGV (signal 11)"
