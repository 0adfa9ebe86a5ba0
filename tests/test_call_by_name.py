"""A module whose converter documents a call by the model's input names (onnx2pytorch's
``forward(*input_list, **input_dict)``) is called that way too where its leg passes, and the
leg fails where that call does not agree with the source (harness.run.second_call)."""

import os
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from harness.core.spec import LayerSpec

pytest.importorskip("onnx2pytorch")

O2P = "onnx>onnx2pytorch"
ROOT = Path(__file__).resolve().parents[1]


def _two_input_model():
    """y = a - 2 b: the two inputs' order and names both matter."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["b", "two"], ["twice"]),
                               helper.make_node("Sub", ["a", "twice"], ["y"])],
                              "g", [a, b], [y], [two])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _converted(model):
    from harness.converters import Artifact, ConvertOptions
    from harness.converters.onnx_to_pytorch import Onnx2PytorchConverter

    return Onnx2PytorchConverter().convert(Artifact("onnx", model, ["a", "b"]), ConvertOptions())


def test_onnx2pytorch_s_module_is_called_by_name_and_the_names_bind_the_inputs():
    from harness.core.artifact import CALLED_BY_NAME
    from harness.runtimes.torch import TorchByNameRunner, TorchRunner

    artifact = _converted(_two_input_model())
    assert artifact.meta[CALLED_BY_NAME] is True
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 3), dtype=np.float32) for _ in range(2)]
    [y] = TorchRunner().run(artifact, inputs)
    np.testing.assert_allclose(y, inputs[0] - 2 * inputs[1], rtol=1e-6)
    [by_name] = TorchByNameRunner().run(artifact, inputs)
    np.testing.assert_array_equal(by_name, y)
    # the names, not the order, bind a call by name
    artifact.input_names = ["b", "a"]
    [swapped] = TorchByNameRunner().run(artifact, inputs)
    np.testing.assert_allclose(swapped, inputs[1] - 2 * inputs[0], rtol=1e-6)


def _relu_case() -> LayerSpec:
    return LayerSpec.from_json({"kind": "Relu", "source": "onnx", "schema": "parity.spec/1",
                                "dtype": "float32", "seed": 0, "input_shapes": [[2, 3]],
                                "attrs": {"opset": 17}})


def test_the_fault_the_ci_gate_missed_fails_the_onnx2pytorch_leg(monkeypatch):
    """onnx2pytorch's forward planted as ``ci_kills`` drew it (seed 2, by file): keyword
    inputs read only where there are two or more. Every positional call still runs."""
    from onnx2pytorch.convert.model import ConvertModel

    from harness.run.pipeline import Harness
    from tests.planted import plant

    harness = Harness(O2P, known_issues=[], diagnose=False)
    [clean] = [leg for leg in harness.run(_relu_case()).legs if leg.leg == O2P]
    assert clean.verdict == "pass", clean.message

    plant(monkeypatch, ConvertModel, "forward", "if len(input_dict) > 0:",
          "if len(input_dict) > 1:")
    harness = Harness(O2P, known_issues=[], diagnose=False)
    [planted] = [leg for leg in harness.run(_relu_case()).legs if leg.leg == O2P]
    assert planted.verdict == "error", planted.message
    assert planted.message.startswith("called by its inputs' names, module(**{'input_0': "
                                      "...}), the module fails where its positional call "
                                      "passes:"), planted.message
    assert "KeyError" in planted.message


def _nms_one_class(center_point_box: int) -> LayerSpec:
    """onnx2pytorch's NonMaxSuppression with boxes that are initializers. With centre boxes
    (``center_point_box=1``) it turns them to corners in place, in the module's own tensor,
    on every call (the known issue ``onnx2pytorch-nms-center-boxes-converted-per-class``):
    the boxes overlap by 1/3 at the first call, by other fractions at the later ones."""
    boxes = [[[1.0, 1.0, 2.0, 2.0], [2.0, 1.0, 2.0, 2.0]]]
    if not center_point_box:
        boxes = [[[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]]]  # the same boxes' corners
    nms = {"kind": "NonMaxSuppression",
           "attrs": {"opset": 11, "center_point_box": center_point_box},
           "inputs": [{"const": boxes, "dtype": "float32"}, "input_0",
                      {"const": [5], "dtype": "int64"}, {"const": [0.4], "dtype": "float32"}]}
    return LayerSpec.from_json({
        "kind": "SplitConcat", "source": "onnx", "schema": "parity.spec/1", "dtype": "float32",
        "seed": 0, "input_shapes": [[1, 1, 2]], "input_overrides": [[[0, 0.9], [1, 0.8]]],
        "attrs": {"opset": 11, "nodes": [nms], "graph_outputs": [0]}})


def test_a_module_that_keeps_state_between_calls_is_named_so():
    from harness.run.pipeline import Harness

    bare = Harness(O2P, known_issues=[], diagnose=False)
    [corners] = [leg for leg in bare.run(_nms_one_class(0)).legs if leg.leg == O2P]
    assert corners.verdict == "pass", corners.message
    [stateful] = [leg for leg in bare.run(_nms_one_class(1)).legs if leg.leg == O2P]
    assert stateful.verdict == "fail", stateful.message
    assert stateful.message.startswith("called again on the same inputs, the module gives "
                                       "other outputs than its first call: it keeps state"), \
        stateful.message
    # the entry that names the bug still claims the leg
    [claimed] = [leg for leg in Harness(O2P, diagnose=False).run(_nms_one_class(1)).legs
                 if leg.leg == O2P]
    assert claimed.verdict == "xfail", claimed.message
    assert claimed.known_issue["id"] == "onnx2pytorch-nms-center-boxes-converted-per-class"


def test_the_leg_s_script_calls_the_module_by_name_too(monkeypatch, tmp_path):
    """The reproducer of the planted fault's leg, run in fresh processes: over a copy of
    onnx2pytorch holding the fault it reproduces the failure, over the installed one not."""
    import shutil
    import subprocess
    import sys

    import onnx2pytorch
    from onnx2pytorch.convert.model import ConvertModel

    from harness.run.pipeline import Harness
    from harness.sources.onnx.repro import write_script
    from tests.planted import plant

    plant(monkeypatch, ConvertModel, "forward", "if len(input_dict) > 0:",
          "if len(input_dict) > 1:")
    harness = Harness(O2P, known_issues=[], diagnose=False)
    script = tmp_path / "repro.py"
    script.write_text(write_script(harness, harness.run(_relu_case()), leg_name=O2P),
                      encoding="utf-8")

    faulty = tmp_path / "faulty"
    shutil.copytree(Path(onnx2pytorch.__file__).parent, faulty / "onnx2pytorch")
    model_py = faulty / "onnx2pytorch" / "convert" / "model.py"
    source = model_py.read_text(encoding="utf-8")
    assert source.count("if len(input_dict) > 0:") == 1
    model_py.write_text(source.replace("if len(input_dict) > 0:", "if len(input_dict) > 1:"),
                        encoding="utf-8")

    def run(*path: Path) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [*path, ROOT]))}
        return subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=300)

    reproduced = run(faulty)
    assert reproduced.returncode == 1, reproduced.stdout + reproduced.stderr
    assert ("REPRODUCED: runtime_error: called by its inputs' names, module(**{'input_0': "
            "...}), torch raised KeyError") in reproduced.stdout, reproduced.stdout
    clean = run()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    said = clean.stdout + clean.stderr
    assert "now once more, by its inputs' names, module(**{'input_0': ...}):" in said, said
    assert clean.stdout.count("does not reproduce") == 2, said  # both calls agree
