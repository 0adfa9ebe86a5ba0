"""A converted module that writes into the tensors it is called with fails its leg, even where
its outputs are right: an ONNX graph never writes its inputs, and a caller who reads its
tensor again, or calls the module twice, gets other values (harness.runtimes.torch)."""

import numpy as np
import pytest
import torch

from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.runtimes.torch import InputWritten, run_module

pytest.importorskip("onnx2torch")


class AddsIntoItsFirstInput(torch.nn.Module):
    def forward(self, x, y):
        return x.add_(y)


class ReturnsItsInput(torch.nn.Module):
    def forward(self, x, y):
        return x


def test_a_module_that_adds_into_its_input_is_told_by_input_count_and_first_value():
    x = np.array([[0.5, -1.0, 2.0]], np.float32)
    y = np.array([[0.0, 1.0, 0.0]], np.float32)
    with pytest.raises(InputWritten) as raised:
        run_module(AddsIntoItsFirstInput(), [x, y], names=["x", "y"])
    message = str(raised.value)
    assert "input 0 ('x'): 1 of 3 values changed, the first at [0, 1] from -1.0 to 0.0" \
        in message, message
    assert "input 1" not in message
    assert x[0, 1] == -1.0, "the case's own array is never the module's to write"


@pytest.mark.parametrize("value", [np.nan, -0.0, 0.0])
def test_a_module_that_returns_its_input_untouched_passes(value):
    """NaN and a signed zero read as unchanged where their bytes are: only a write counts."""
    x = np.full((2,), value, np.float32)
    [out] = run_module(ReturnsItsInput(), [x, x])
    np.testing.assert_array_equal(out, x)


def test_a_zero_made_negative_in_place_is_a_write():
    class Negates(torch.nn.Module):
        def forward(self, x):
            return x.neg_()

    with pytest.raises(InputWritten, match=r"input 0: 1 of 1 values changed, the first from "
                                           r"0\.0 to -0\.0"):
        run_module(Negates(), [np.array(0.0, np.float32)])


def test_onnx2torch_planted_to_sum_into_its_first_input_fails_the_leg(monkeypatch):
    """onnx2torch's Sum planted to accumulate into its first operand, not a new tensor: its
    outputs are still x + y, which comparing them alone passes; the leg fails on the write and
    names its stage. Clean, the same case passes."""
    from onnx2torch.node_converters.sum import OnnxSum

    spec = LayerSpec("Sum", {"opset": 17}, ((2, 3), (2, 3)), source="onnx", seed=0)
    harness = Harness("onnx>onnx2torch", diagnose=False)
    [leg] = harness.run(spec).legs
    assert leg.verdict == "pass", leg.message

    def into_the_first(self, *tensors):
        output = tensors[0]
        for other in tensors[1:]:
            output.add_(other)
        return output

    monkeypatch.setattr(OnnxSum, "apply_reduction", into_the_first)
    [leg] = harness.run(spec).legs
    assert (leg.verdict, leg.category, leg.blame) == ("error", "runtime_error", "onnx2torch"), \
        (leg.verdict, leg.category, leg.blame, leg.message)
    assert "InputWritten: the module wrote into the tensors it was called with" in leg.message
    assert "input 0: 6 of 6 values changed" in leg.message, leg.message


def test_a_plugin_stage_whose_module_zeroes_its_input_fails_and_its_script_says_so(tmp_path):
    """Its outputs are onnx2torch's; the leg fails on the write, blamed on the plugin stage,
    and the leg's reproducer, run in a fresh process, reports the write too."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from harness.repro_script import write_script
    from tests import writes_inputs_stage

    root = Path(__file__).resolve().parents[1]
    spec = LayerSpec("Relu", {"opset": 17}, ((2, 3),), source="onnx", seed=1)
    harness = Harness(f"onnx>{writes_inputs_stage.NAME}", diagnose=False)
    case = harness.run(spec)
    [leg] = case.legs
    assert (leg.verdict, leg.category, leg.blame) == ("error", "runtime_error",
                                                      writes_inputs_stage.NAME), leg.message
    assert "input 0: 6 of 6 values changed" in leg.message, leg.message

    script = tmp_path / "repro.py"
    script.write_text(write_script(harness, case, plugins=["tests.writes_inputs_stage"]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REPRODUCED: runtime_error: the module wrote into its inputs [0] in place" \
        in done.stdout, done.stdout
