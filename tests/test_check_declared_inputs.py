"""Inputs as the model declares them (issue 48): a scalar stays 0-d and every rank 0..6 keeps
its shape, drawn or from ``--inputs``; a graph with no inputs runs as it is; a Dropout with a
scalar ``ratio``, a Range over scalars and a Constant-only graph agree; a file at an ONNX IR
version newer than onnxruntime reads gets a line naming both and the fix; an absurd declared
size is refused before it is allocated; ``parity check MODEL | head`` ends quietly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckError, CheckOptions, run_check  # noqa: E402
from harness.sources import file as files  # noqa: E402
from harness.sources.file.case import case_inputs  # noqa: E402

PATHS = "onnx>onnx2torch,onnx>ort-optimized"
V = helper.make_tensor_value_info


def save(path, nodes, inputs, outputs, initializers=(), ir_version=8) -> str:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=ir_version)
    onnx.save(model, str(path))
    return str(path)


def agrees(model, **options):
    outcome = run_check(CheckOptions(model=model, paths=PATHS, report=None, **options))
    assert [(row.leg, row.verdict) for row in outcome.rows] == [
        ("onnx>onnx2torch", "agrees"), ("onnx>ort-optimized", "agrees")], outcome.rows
    return outcome


@pytest.mark.parametrize("rank", range(7))
@pytest.mark.parametrize("given", [False, True], ids=["drawn", "npz"])
def test_every_rank_keeps_its_declared_shape(tmp_path, rank, given):
    shape = [3, 2, 2, 1, 2, 1][:rank]
    model = save(tmp_path / f"rank{rank}.onnx", [helper.make_node("Neg", ["x"], ["y"])],
                 [V("x", TensorProto.FLOAT, shape)], [V("y", TensorProto.FLOAT, shape)])
    options = {}
    if given:
        np.savez(tmp_path / "x.npz", x=np.full(shape, 0.5, np.float32))
        options["inputs"] = str(tmp_path / "x.npz")
    outcome = agrees(model, **options)
    (case,) = outcome.cases
    (x,) = case_inputs(case.spec)
    assert x.shape == tuple(shape) and outcome.sizes == [[shape]]
    assert (x == 0.5).all() if given else x.std() > 0 or rank == 0


def test_a_dropout_with_a_scalar_ratio_agrees(tmp_path):
    model = save(tmp_path / "dropout.onnx", [helper.make_node("Dropout", ["x", "ratio"], ["y"])],
                 [V("x", TensorProto.FLOAT, [2, 3]), V("ratio", TensorProto.FLOAT, [])],
                 [V("y", TensorProto.FLOAT, [2, 3])])
    outcome = agrees(model)
    assert outcome.description.endswith("inputs 2x3, scalar")
    assert not [f for f in outcome.strength if f.kind == "not_assessed"]


def test_a_range_over_scalar_inputs_agrees(tmp_path):
    model = save(tmp_path / "range.onnx",
                 [helper.make_node("Range", ["start", "limit", "delta"], ["y"])],
                 [V(name, TensorProto.FLOAT, []) for name in ("start", "limit", "delta")],
                 [V("y", TensorProto.FLOAT, ["n"])])
    np.savez(tmp_path / "range.npz", start=np.float32(1), limit=np.float32(10),
             delta=np.float32(2))
    outcome = agrees(model, inputs=str(tmp_path / "range.npz"))
    assert outcome.sizes == [[[], [], []]]


def test_a_graph_with_no_inputs_runs_as_it_is(tmp_path):
    constant = numpy_helper.from_array(np.arange(-3, 3, dtype=np.float32).reshape(2, 3))
    model = save(tmp_path / "constant.onnx",
                 [helper.make_node("Constant", [], ["c"], value=constant),
                  helper.make_node("Relu", ["c"], ["y"])], [],
                 [V("y", TensorProto.FLOAT, [2, 3])])
    outcome = agrees(model)
    assert outcome.description.endswith("inputs none") and outcome.sizes == [[]]
    reference = outcome.cases[0].legs[0].metrics
    assert reference["shape"] == [2, 3]


def test_a_newer_ir_version_than_onnxruntime_reads_names_both_and_the_fix(tmp_path):
    import onnxruntime

    model = save(tmp_path / "ir.onnx", [helper.make_node("Neg", ["x"], ["y"])],
                 [V("x", TensorProto.FLOAT, [2])], [V("y", TensorProto.FLOAT, [2])],
                 ir_version=99)
    with pytest.raises(CheckError) as raised:
        run_check(CheckOptions(model=model, paths=PATHS, report=None))
    said = str(raised.value)
    assert (f"the file is ONNX IR version 99, and onnxruntime {onnxruntime.__version__} reads "
            f"IR versions up to ") in said
    assert "upgrade onnxruntime, or save the model at IR " in said
    assert said.count("ir.onnx") == 1


@pytest.mark.parametrize("dim", [2_147_483_647, 10**9])
def test_an_absurd_declared_size_is_refused_before_allocation(tmp_path, dim):
    model = save(tmp_path / "huge.onnx", [helper.make_node("Neg", ["tokens"], ["y"])],
                 [V("tokens", TensorProto.FLOAT, ["N", dim])],
                 [V("y", TensorProto.FLOAT, ["N", dim])])
    with pytest.raises(CheckError) as raised:
        run_check(CheckOptions(model=model, paths=PATHS, report=None))
    said = str(raised.value)
    assert f"input 'tokens' declares dimension 1 as {dim:,}" in said
    assert "above the 1,024 MB parity draws an input up to; raise the limit with " \
           "--max-input-mb MB" in said


def test_the_drawn_size_limit_is_an_option(tmp_path):
    model = save(tmp_path / "wide.onnx", [helper.make_node("Neg", ["x"], ["y"])],
                 [V("x", TensorProto.FLOAT, [1, 2**18])], [V("y", TensorProto.FLOAT, [1, 2**18])])
    with pytest.raises(CheckError, match="above the 0 MB parity draws"):
        run_check(CheckOptions(model=model, paths="onnx>ort-optimized", report=None,
                               max_input_mb=0.5))
    outcome = run_check(CheckOptions(model=model, paths="onnx>ort-optimized", report=None,
                                     max_input_mb=1))
    assert outcome.exit_code == 0
    with pytest.raises(files.FileError, match="--max-input-mb"):
        files.file_specs(model, max_input_bytes=2**20 - 1)


def test_a_closed_pipe_ends_the_check_quietly(tmp_path):
    model = save(tmp_path / "neg.onnx", [helper.make_node("Neg", ["x"], ["y"])],
                 [V("x", TensorProto.FLOAT, [2])], [V("y", TensorProto.FLOAT, [2])])
    for extra in ([], ["--json"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "check", model, "--report", "none",
             "--paths", "onnx>ort-optimized", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        process.stdout.close()  # the reader is gone before the answer is written
        stderr = process.stderr.read()
        assert process.wait() == 0, stderr
        assert "internal error" not in stderr and "Traceback" not in stderr
