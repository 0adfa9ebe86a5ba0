"""The onnx source outside the harness: golden cases that onnx's backend-test reader and
onnxruntime replay on their own, standalone reproducers of ONNX cases, and a suite path
that never imports TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import golden
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.run.pipeline import Harness
from harness.sources.onnx import DATA_SET, MODEL
from harness.sources.onnx.repro import write_script

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]


def weight(shape, role="kernel"):
    return {"weight": shape, "role": role}


# Conv → BatchNormalization → Relu at opset 13, where onnx's reference evaluator blends the
# batch statistics in (known issue onnx-reference-batchnorm9-blends-statistics).
BN_OPSET_13 = LayerSpec("ConvBnRelu", {"opset": 13, "graph_outputs": [2], "nodes": [
    {"kind": "Conv", "attrs": {"opset": 13, "dilations": [1, 1], "group": 1,
                               "kernel_shape": [1, 1], "pads": [0, 0, 0, 0],
                               "strides": [1, 1]},
     "inputs": ["input_0", weight([1, 1, 1, 1])]},
    {"kind": "BatchNormalization", "attrs": {"opset": 13, "epsilon": 1e-5, "momentum": 0.9},
     "inputs": [0, weight([1], "scale"), weight([1], "beta"), weight([1], "mean"),
                weight([1], "variance")]},
    {"kind": "Relu", "attrs": {"opset": 13}, "inputs": [1]}]}, ((1, 1, 1, 1),), source="onnx")
# Flatten(axis=0) → Gemm: onnx2torch flattens to one dimension, not to [1, N].
FLATTEN_AXIS_0 = LayerSpec("FlattenGemm", {"opset": 17, "graph_outputs": [1], "nodes": [
    {"kind": "Flatten", "attrs": {"opset": 17, "axis": 0}, "inputs": ["input_0"]},
    {"kind": "Gemm", "attrs": {"opset": 17, "alpha": 1.0, "beta": 1.0, "transB": 1},
     "inputs": [0, weight([1, 2]), weight([1], "bias")]}]}, ((1, 2),), source="onnx")


def read_backend_test_case(folder: Path):
    """A case as onnx's backend-test runner reads one: model.onnx and the TensorProtos of
    test_data_set_0, in file order, turned into arrays by onnx.numpy_helper."""
    from onnx import numpy_helper

    def tensors(prefix: str):
        files = sorted((folder / DATA_SET).glob(f"{prefix}_*.pb"),
                       key=lambda p: int(p.stem.split("_")[1]))
        loaded = []
        for path in files:
            tensor = onnx.TensorProto()
            tensor.ParseFromString(path.read_bytes())
            loaded.append((tensor.name, numpy_helper.to_array(tensor)))
        return loaded

    return onnx.load(str(folder / MODEL)), tensors("input"), tensors("output")


@pytest.mark.parametrize("kind", ["ConvBnRelu", "SamePadConv", "SplitConcat", "Gemm"])
def test_a_stored_case_replays_with_onnx_reader_and_onnxruntime(kind, tmp_path):
    spec = sample(kind, 1, source="onnx")[0]
    reading = Harness(known_issues=[]).read_source(spec)
    assert reading.native is None  # both readings agree: onnxruntime must reproduce it
    golden.write_case(tmp_path, reading, spec, {"source": "onnx"})
    model, inputs, outputs = read_backend_test_case(tmp_path / golden.CASES / spec.case_id)
    assert [name for name, _ in inputs] == [i.name for i in model.graph.input]
    assert [name for name, _ in outputs] == [o.name for o in model.graph.output]
    assert len(outputs) == len(reading.reference)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    replayed = session.run(None, dict(inputs))
    for (name, stored), again, reference in zip(outputs, replayed, reading.reference):
        assert stored.dtype == reference.dtype and stored.shape == reference.shape, name
        np.testing.assert_array_equal(stored, reference)
        np.testing.assert_allclose(again, stored, rtol=1e-5, atol=1e-5)


def run_script(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "repro.py"
    script.write_text(text, encoding="utf-8")
    # No parity on the path: the script must stand alone.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_script_of_the_source_leg_compares_the_two_readings(tmp_path):
    harness = Harness(known_issues=[])
    case = harness.run(BN_OPSET_13)
    assert case.legs[0].leg == "onnx" and case.legs[0].verdict == "fail"
    text = write_script(harness, case)
    assert "import torch" not in text and "harness" not in text.split('"""', 2)[2]
    done = run_script(text, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "onnxruntime (optimisations off) against onnx's reference evaluator" in done.stdout
    assert "REPRODUCED: numeric_mismatch" in done.stdout


def test_the_script_of_a_converter_failure_reproduces_it(tmp_path):
    harness = Harness(known_issues=[])
    case = harness.run(FLATTEN_AXIS_0)
    legs = {leg.leg: leg for leg in case.legs}
    assert legs["onnx>onnx2torch"].verdict == "error"
    text = write_script(harness, case, leg_name="onnx>onnx2torch")
    assert "module = onnx2torch.convert(model)" in text
    done = run_script(text, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REPRODUCED: runtime_error: torch raised IndexError" in done.stdout


def test_the_script_of_a_passing_leg_does_not_reproduce(tmp_path):
    harness = Harness(known_issues=[])
    case = harness.run(FLATTEN_AXIS_0)
    text = write_script(harness, case, leg_name="onnx>ort-optimized")
    done = run_script(text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "does not reproduce" in done.stdout


def test_a_plugin_stage_is_left_to_the_plugin_script():
    from harness import converters
    from tests.onnx_faults import FAULTS

    name = "onnx2torch-fault-bn-epsilon"
    converters.register(FAULTS[name])
    harness = Harness(f"onnx>{name}", known_issues=[])
    case = harness.run(BN_OPSET_13)
    assert write_script(harness, case, leg_name=f"onnx>{name}") is None


MODULES_PLUGIN = """
import json, os, sys

def pytest_sessionfinish(session):
    with open(os.environ["PARITY_MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def test_the_onnx_suite_never_imports_tensorflow(tmp_path):
    """One kind of suites/onnx under pytest, with the repository's plugin and reports: the
    modules loaded by the end of the session (sys.modules) include no TensorFlow, Keras or
    tf2onnx. Without the stage cache, so that both converters convert: a run that found the
    repository's cache full (CI's, late in its run) hit every stage and imported neither."""
    (tmp_path / "modules_plugin.py").write_text(MODULES_PLUGIN)
    out = tmp_path / "modules.json"
    env = {**os.environ, "PARITY_MODULES_OUT": str(out), "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/onnx/test_ops.py", "-p", "modules_plugin",
         "-k", "test_op and GemmChain and not axis", "-q", "-p", "no:cacheprovider",
         "--hypothesis-profile", "dev", "--hypothesis-seed", "0", "--parity-cache", "none",
         "--parity-report", str(tmp_path / "reports")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    loaded = set(json.loads(out.read_text()))
    assert {"harness.sources.onnx.graphs", "onnx2torch", "onnx2pytorch"} <= loaded
    assert not {"tensorflow", "keras", "tf2onnx", "tf_keras"} & loaded


def test_the_reference_runtimes_missing_kernel_is_one_source_refusal_naming_its_version():
    """onnxruntime's CPU provider has no int16 Max(13) (as 1.30 has no int8 Where(16)): the
    reference's own limit on its release is the case's one skip, never a converter's failure."""
    spec = LayerSpec("Max", {"opset": 13}, ((3,), (3,)), dtype="int16", seed=0, source="onnx")
    result = Harness("onnx>onnx2torch").run(spec)
    assert [(leg.leg, leg.verdict, leg.category) for leg in result.legs] == [
        ("onnx", "skip", "source_refusal")]
    message = result.legs[0].message
    assert f"onnxruntime {ort.__version__}" in message
    assert "Could not find an implementation for Max(13)" in message
    assert result.legs[0].metrics["environment"]["version"] == ort.__version__
