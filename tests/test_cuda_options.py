"""The CUDA options of the pytest plugin: a CUDA run isolates, --parity-tf32 needs CUDA, and
every record says what precision its legs ran at (real pytest sessions, pytester)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runtimes import device

pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[1]

SUITE = '''
from harness.core.spec import LayerSpec
from harness.plugin import STASH_KEY


def test_session(request):
    session = request.config.stash[STASH_KEY]
    print("ISOLATE", session.isolate, "PRECISION", session.precision)


def test_relu(parity):
    parity.check(LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx", seed=1))
'''


@pytest.fixture
def suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_a_cuda_run_isolates_its_cases(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-s", "-k", "session",
                                        "--parity-device", "cuda", "--parity-report", "none")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ISOLATE True PRECISION strict*"])


def test_tf32_mode_needs_cuda(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--parity-tf32")
    result.stderr.fnmatch_lines(["*--parity-tf32 needs --parity-device cuda*"])
    assert result.ret != 0


def test_every_record_says_the_precision_of_its_legs(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-k", "relu",
                                        "--parity-paths", "onnx>onnx2torch",
                                        "--parity-cache", "none")
    result.assert_outcomes(passed=1)
    records = [json.loads(line) for line in
               (suite.path / "reports" / "results.jsonl").read_text().splitlines()]
    [run] = [r for r in records if r["record"] == "run"]
    results = [r for r in records if r["record"] == "result"]
    assert run["precision"] == "cpu: float32 as the CPU computes it"
    assert results and {r["precision"] for r in results} == {run["precision"]}
    assert "float32 as the CPU computes it" in (suite.path / "reports" / "parity.html").read_text()


def test_strict_cuda_precision_reads_back_from_torch():
    """What ``configure`` sets is what ``settings`` reads from torch (torch's flags can be set
    without a GPU), and the line the records keep says TF32 is off."""
    torch = pytest.importorskip("torch")
    before = device.precision()
    saved = dict(os.environ)
    try:
        found = device.configure("cuda")
        assert found["precision"] == "strict" and found["NVIDIA_TF32_OVERRIDE"] == "0"
        assert found["onnxruntime_cuda"] == {"use_tf32": 0}
        flags = found["torch"]
        assert flags["cudnn_benchmark"] is False and flags["cudnn_deterministic"] is True
        assert flags["fp16_reduced_precision_reduction"] is False
        assert set(v for k, v in flags.items() if "fp32" in k or "tf32" in k) <= {"ieee", False,
                                                                                   "highest"}
        line = device.describe(found)
        assert line.startswith("strict: torch fp32 ieee (matmul precision highest)"), line
        assert "NVIDIA_TF32_OVERRIDE=0" in line
        # torch.export and cudnn.flags() read the legacy flag: it must stay readable
        assert torch.backends.cudnn.allow_tf32 is False
        tf32 = device.configure("cuda", device.TF32)
        assert tf32["onnxruntime_cuda"] == {"use_tf32": 1}
        assert "NVIDIA_TF32_OVERRIDE" not in os.environ
        assert device.describe(tf32).startswith("tf32: torch fp32 tf32")
    finally:
        device.configure("cuda", before)
        os.environ.clear()
        os.environ.update(saved)
        torch.backends.cudnn.deterministic = False
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        device.configure("cuda", "fp8")


def test_tf32_mode_has_its_own_rule_named_in_the_row():
    from harness.core.spec import LayerSpec
    from harness.core.tolerance import TolerancePolicy

    spec = LayerSpec("Conv", {"opset": 17}, ((1, 1, 3, 3),), source="onnx", seed=0)
    policy = TolerancePolicy()
    tf32 = policy.for_spec(spec, "onnx>onnx2torch", device.TF32_DEVICE)
    strict = policy.for_spec(spec, "onnx>onnx2torch", "cuda")
    assert (tf32.atol, tf32.rtol) == (5e-3, 5e-3)
    assert tf32.rule.startswith("rule[device=cuda-tf32, dtype=float32]: TF32 mode")
    assert (strict.atol, strict.rtol) == (1e-5, 1e-5)


def test_the_yardstick_measures_a_tf32_leg_at_tf32s_roundoff():
    from harness.core import yardstick

    # a leg 1e-3 from float64, where float32's rounding of the model moves it 1e-7
    measured = {"source_error": 2e-7, "leg_error": 1e-3, "model_error": 1e-7}
    assert not yardstick.rescues(measured)
    assert yardstick.rescues(measured, yardstick.TF32_ROUNDOFF)
    assert yardstick.scale_of(measured, yardstick.TF32_ROUNDOFF) == 1e-7 * 2 ** 13
    wrong = {**measured, "leg_error": 1e-1}  # a converter's error, not TF32's
    assert not yardstick.rescues(wrong, yardstick.TF32_ROUNDOFF)
    assert "at TF32's roundoff" in yardstick.rescue_note(measured, yardstick.TF32_ROUNDOFF)


def test_onnx_legs_take_onnxruntimes_cuda_provider_only_where_it_is_installed():
    ort = pytest.importorskip("onnxruntime")
    from harness.runtimes.onnxruntime import OnnxRuntimeRunner

    providers = OnnxRuntimeRunner("cuda").providers()
    if "CUDAExecutionProvider" in ort.get_available_providers():  # onnxruntime-gpu
        assert providers[0] == ("CUDAExecutionProvider", device.onnxruntime_cuda_options())
        assert providers[0][1]["use_tf32"] == "0"
    else:  # the CPU build: no provider onnxruntime would warn about and drop
        assert providers == ["CPUExecutionProvider"]
    assert OnnxRuntimeRunner("cpu").providers() == ["CPUExecutionProvider"]


WARM_UP = """
import sys
import torch
from harness.runtimes import device
print(device.warm_up(sys.argv[1]), torch.cuda.is_initialized())
"""


@pytest.mark.parametrize("name", ["cpu", "cuda"])
def test_a_worker_starts_its_devices_context_before_its_first_case(name):
    """``warm_up`` starts CUDA's context (cuBLAS and cuDNN with it) where a GPU is, without an
    error; on the CPU, or without a GPU, it starts nothing (in a process of its own, where
    nothing started CUDA before)."""
    from harness.core.machine import cuda_unavailable

    done = subprocess.run([sys.executable, "-c", WARM_UP, name], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, check=True)
    started = name == "cuda" and cuda_unavailable() is None
    assert done.stdout.split() == ["None", str(started)], done.stdout + done.stderr
