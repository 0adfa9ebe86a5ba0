"""The fork server: a call on an ONNX model forked from a small server process gives what a
fork of the caller gives, in the same words, and a crash leaves the server serving."""

from __future__ import annotations

import os
import signal
import sys
import textwrap

import onnx
import pytest
from onnx import TensorProto, helper

from harness.converters import ConversionError, fork_server, forked
from harness.converters.onnxoptimizer_stage import (
    OptimizerCrash,
    _optimized_bytes,
    default_passes,
    optimize,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the server forks its calls")

HELPERS = '''
import faulthandler, os, signal, sys

def crash(model):
    faulthandler.disable()  # planted: its report would read as the run's own crash
    os.kill(os.getpid(), signal.SIGSEGV)

def noisy(model, word):
    print(word * 1000)  # on descriptor 1, which the server answers on
    sys.stdout.flush()
    os.write(1, word.encode())
    return model.graph.node[0].op_type.encode() + b":" + word.encode()

def refuses(model):
    raise ValueError("planted refusal\\nsecond line")

def via_noisy(model, word):
    return noisy(model, word)

from harness.converters import fork_server
fork_server.serve_module(__name__)
'''


def _model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
             helper.make_node("Transpose", ["t"], ["u"], perm=[1, 0]),
             helper.make_node("Transpose", ["u"], ["y"], perm=[1, 0])]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                             opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A fresh server for this test, which can import the helper functions above."""
    (tmp_path / "fork_server_helpers.py").write_text(textwrap.dedent(HELPERS), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv(fork_server.SWITCH, raising=False)
    fresh = fork_server._Server()
    monkeypatch.setattr(fork_server, "_SERVER", fresh)
    import fork_server_helpers

    yield fresh, fork_server_helpers
    fresh.close()
    sys.modules.pop("fork_server_helpers", None)


def _call(function, *args):
    return fork_server.call(function, *args, what="onnxoptimizer", failed=ConversionError,
                            crashed=OptimizerCrash)


def test_a_served_call_returns_what_a_fork_of_the_caller_returns(server):
    fresh, _ = server
    model, passes = _model(), default_passes()
    served = _call(_optimized_bytes, model, passes)
    direct = forked.in_child(_optimized_bytes, model, passes, what="onnxoptimizer")
    assert served == direct
    assert [n.op_type for n in onnx.load_from_string(served).graph.node] == ["Transpose"]
    assert fresh._process is not None and fresh._process.poll() is None  # it was served


def test_a_failure_comes_back_in_the_words_a_fork_of_the_caller_gives(server):
    _, helpers = server
    with pytest.raises(ConversionError) as served:
        _call(helpers.refuses, _model())
    with pytest.raises(ConversionError) as direct:
        forked.in_child(helpers.refuses, _model(), what="onnxoptimizer", failed=ConversionError)
    assert str(served.value) == str(direct.value) == "ValueError: planted refusal"
    with pytest.raises(ConversionError, match="not-a-pass"):
        _call(_optimized_bytes, _model(), ["not-a-pass"])


def test_a_crash_names_the_signal_and_the_server_serves_on(server):
    fresh, helpers = server
    assert _call(helpers.noisy, _model(), "a") == b"Transpose:a"
    pid = fresh._process.pid
    with pytest.raises(OptimizerCrash) as crashed:
        _call(helpers.crash, _model())
    assert str(crashed.value) == "onnxoptimizer crashed the process (signal 11: SIGSEGV)"
    assert _call(helpers.noisy, _model(), "b") == b"Transpose:b"  # what it printed is not the reply
    assert fresh._process.pid == pid


def test_a_dead_server_is_started_again(server):
    fresh, helpers = server
    assert _call(helpers.noisy, _model(), "a") == b"Transpose:a"
    first = fresh._process
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert _call(helpers.noisy, _model(), "c") == b"Transpose:c"
    assert fresh._process is not first and fresh._process.poll() is None


def test_what_the_server_cannot_name_forks_the_caller(server, monkeypatch):
    fresh, helpers = server
    assert _call(lambda model: b"from a lambda", _model()) == b"from a lambda"
    assert fresh._process is None  # nothing was sent to a server
    # A fault planted in memory: the server's own import of the module would not hold it.
    monkeypatch.setattr(helpers, "noisy", lambda model, word: b"planted " + word.encode())
    assert _call(helpers.via_noisy, _model(), "d") == b"planted d"
    assert fresh._process is None
    monkeypatch.setenv(fork_server.SWITCH, "0")
    assert optimize(_model(), default_passes()).graph.node[0].op_type == "Transpose"
    assert fresh._process is None
