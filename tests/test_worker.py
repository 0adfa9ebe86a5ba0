"""The JSON-lines worker client (harness.runtimes.worker) with a small real child: replies, deadlines,
a child that dies, and a stack dumped before a kill. No frameworks: a second or two."""

import getpass
import os
import signal
import sys
import tempfile
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
    elif request["op"] == "tmp":
        import tempfile
        handle, path = tempfile.mkstemp()
        os.close(handle)
        channel.send({"path": path, "inductor": os.environ.get("TORCHINDUCTOR_CACHE_DIR")})
    elif request["op"] == "die":
        print("last words", file=sys.stderr, flush=True)
        os._exit(3)
'''


def _child_env(tmp_path, **extra) -> dict[str, str]:
    (tmp_path / "echo_child.py").write_text(CHILD)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), **extra}


@pytest.fixture
def child(tmp_path):
    worker = WorkerProcess("echo_child", env=_child_env(tmp_path))
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


def _ended_by_goodbye(worker):
    worker.close(goodbye={"op": "exit"})


def _killed_in_a_hang(worker):
    worker.send({"op": "sleep"})
    worker.kill()


def _died_then_replaced(worker):
    worker.send({"op": "die"})
    assert worker.receive(_soon()) is None
    worker.start()  # the next child: the dead one's folder goes, the new one gets its own
    assert worker.receive(_soon())["ready"]
    worker.close()


@pytest.mark.parametrize("end", [_ended_by_goodbye, _killed_in_a_hang, _died_then_replaced])
def test_a_child_s_temporary_files_go_with_it_however_it_ends(tmp_path, monkeypatch, end):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # this process' gettempdir()
    worker = WorkerProcess("echo_child", env=_child_env(tmp_path, TMPDIR=str(temporary)))
    worker.start()
    assert worker.receive(_soon())["ready"]
    worker.send({"op": "tmp"})
    made = Path(worker.receive(_soon())["path"])
    assert made.is_file() and made.parent == Path(worker.scratch)
    assert made.parent.parent == temporary and made.parent.name.startswith("parity-echo_child-")
    end(worker)
    assert list(temporary.iterdir()) == []
    assert worker.scratch is None


def test_torch_compile_s_cache_stays_where_the_child_would_have_kept_it(tmp_path):
    env = _child_env(tmp_path, TMPDIR=str(tmp_path))
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # set in this process once torch.compile ran
    worker = WorkerProcess("echo_child", env=env)
    worker.start()
    worker.receive(_soon())
    worker.send({"op": "tmp"})
    user = getpass.getuser()
    assert worker.receive(_soon())["inductor"] == str(tmp_path / f"torchinductor_{user}")
    worker.close()
    own = WorkerProcess("echo_child", env=_child_env(tmp_path, TORCHINDUCTOR_CACHE_DIR="/x/y"))
    own.start()
    own.receive(_soon())
    own.send({"op": "tmp"})
    assert own.receive(_soon())["inductor"] == "/x/y"  # a user's own setting is kept
    own.close()
