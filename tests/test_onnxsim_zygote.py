"""onnx2tf's ``onnxsim`` passes through the zygote (harness.converters.onnxsim_zygote): the
command the zygote writes does what onnxsim's own command does, as onnx2tf calls it (the
model simplified in place, the same printed text, the same failure and status), and the
zygote is left out where it is turned off and ends with its worker."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness.converters import onnxsim_zygote

pytest.importorskip("onnxsim")
onnx = pytest.importorskip("onnx")
helper = onnx.helper

REAL = shutil.which("onnxsim")


def _model(path):
    """Add of two inputs beside a constant subgraph onnxsim folds (Add of two constants)."""
    one = helper.make_tensor("one", onnx.TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
    graph = helper.make_graph(
        [helper.make_node("Add", ["one", "one"], ["two"]),
         helper.make_node("Add", ["x", "two"], ["y"])],
        "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])], [one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


@pytest.fixture(scope="module")
def zygote():
    started = onnxsim_zygote.start()
    assert started is not None
    yield started
    started.close()


def _run(command, *args, cwd):
    # as onnx2tf runs it: subprocess, output captured, the input file rewritten in place
    return subprocess.run([command, *args], capture_output=True, cwd=cwd)


@pytest.mark.skipif(REAL is None, reason="onnxsim's command is not on PATH")
def test_the_command_does_what_onnxsims_does(zygote, tmp_path):
    for name in ("real", "zygote"):
        (tmp_path / name).mkdir()
        _model(tmp_path / name / "model.onnx")
    real = _run(REAL, "model.onnx", "model.onnx", cwd=tmp_path / "real")
    ours = _run(str(zygote.bin / "onnxsim"), "model.onnx", "model.onnx", cwd=tmp_path / "zygote")
    assert (ours.returncode, ours.stdout, ours.stderr) == (real.returncode, real.stdout,
                                                           real.stderr)
    assert real.returncode == 0
    simplified = (tmp_path / "zygote" / "model.onnx").read_bytes()
    assert simplified == (tmp_path / "real" / "model.onnx").read_bytes()
    assert len(onnx.load_from_string(simplified).graph.node) == 1  # the constant Add folded


@pytest.mark.skipif(REAL is None, reason="onnxsim's command is not on PATH")
def test_a_failure_is_the_same_failure(zygote, tmp_path):
    real = _run(REAL, "absent.onnx", "out.onnx", cwd=tmp_path)
    ours = _run(str(zygote.bin / "onnxsim"), "absent.onnx", "out.onnx", cwd=tmp_path)
    assert real.returncode != 0
    assert ours.returncode == real.returncode
    assert ours.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]  # FileNotFoundError
    with pytest.raises(subprocess.CalledProcessError):  # what onnx2tf catches and warns about
        subprocess.check_output([str(zygote.bin / "onnxsim"), "absent.onnx", "out.onnx"],
                                stderr=subprocess.PIPE, cwd=tmp_path)


def test_turned_off_nothing_starts():
    assert onnxsim_zygote.start({**os.environ, onnxsim_zygote.SWITCH: "0"}) is None


def test_the_zygote_ends_with_its_input():
    started = onnxsim_zygote.start()
    assert started is not None and started.process.poll() is None
    started.close()
    assert started.process.poll() is not None and not started.bin.exists()
