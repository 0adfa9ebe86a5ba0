"""Known issues that know the device: an entry states the devices it holds on, torch's kernels
missing on CUDA are limitations on CUDA alone, CPU-only entries expect nothing on CUDA, and a
converter bug's entry knows its CUDA form (a device-side assert where the CPU raises)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import upstream
from harness.core import known_issues
from harness.core.spec import LayerSpec

ROOT = Path(__file__).resolve().parents[1]
ISSUES = {issue.id: issue for issue in known_issues.load()}


def recognised(spec, leg, device, message, category="runtime_error"):
    return [issue.id for issue in known_issues.candidates(list(ISSUES.values()), spec, leg,
                                                          device=device)
            if issue.matches_failure(category, message)]


INTEGER_MATMUL = LayerSpec("MatMul", {"opset": 17}, ((1, 2), (2, 1)), dtype="int64",
                           source="onnx", seed=0)
MISSING_ON_CUDA = ('torch raised NotImplementedError: "addmm_cuda" not implemented for '
                   "'Long'")


def test_a_missing_cuda_kernel_is_a_limitation_on_cuda_and_nothing_on_the_cpu():
    assert recognised(INTEGER_MATMUL, "onnx>onnx2torch", "cuda", MISSING_ON_CUDA) == [
        "torch-cuda-integer-matmul"]
    # A matrix-vector product's kernel, as the H100 run named it (2026-11-26)
    matrix_vector = LayerSpec("MatMul", {"opset": 17}, ((2, 3), (3,)), dtype="int64",
                              source="onnx", seed=0)
    vector_vector = LayerSpec("MatMul", {"opset": 17}, ((3,), (3,)), dtype="int64",
                              source="onnx", seed=0)
    for spec, kernel in ((matrix_vector, "addmv_impl_cuda"), (vector_vector, "dot")):
        assert recognised(spec, "onnx>onnx2torch", "cuda", f'torch raised NotImplementedError: '
                          f'"{kernel}" not implemented for \'Long\'') == [
            "torch-cuda-integer-matmul"], kernel
    assert recognised(INTEGER_MATMUL, "onnx>onnx2pytorch", "cuda", MISSING_ON_CUDA) == [
        "torch-cuda-integer-matmul"]
    assert recognised(INTEGER_MATMUL, "onnx>onnx2torch", "cpu", MISSING_ON_CUDA) == []
    assert ISSUES["torch-cuda-integer-matmul"].to_json()["devices"] == "cuda"
    assert ISSUES["torch-cuda-integer-matmul"].nature == "limitation"


def test_a_cpu_only_entry_expects_nothing_on_cuda():
    issue = ISSUES["torch-cpu-avgpool3d-no-half"]
    assert issue.devices == ("cpu",)
    spec = next(pin.spec for pin in known_issues.pins([issue]) if pin.spec.source == "onnx")
    message = "avg_pool3d_out_frame\" not implemented for 'Half'"
    assert recognised(spec, "onnx>onnx2torch", "cpu", message) == [issue.id]
    assert recognised(spec, "onnx>onnx2torch", "cuda", message) == []
    assert recognised(spec, "onnx>onnx2torch", None, message) == [issue.id]  # device unknown


def test_a_converter_bugs_entry_knows_its_cuda_form():
    issue = ISSUES["onnx2torch-gather-elements-negative-indices"]
    spec = issue.minimal
    on_cpu = "torch raised RuntimeError: index -1 is out of bounds for dimension 0 with size 1"
    on_cuda = ("the CUDA context was lost in leg onnx>onnx2torch (stage onnx2torch): "
               "AcceleratorError: CUDA error: device-side assert triggered")
    for device, message in (("cpu", on_cpu), ("cuda", on_cuda)):
        assert issue.id in recognised(spec, "onnx>onnx2torch", device, message), device


def test_a_negative_gather_axis_is_onnx2pytorchs_on_cuda_too():
    """The CPU raises an IndexError; CUDA's gather kernel asserts and the context is lost."""
    spec = LayerSpec("Gather", {"axis": -3, "opset": 15,
                                "operands": ["in", {"const": [1, 1], "dtype": "int32"}]},
                     ((1, 2, 4, 1),), dtype="float64", source="onnx", seed=42072)
    on_cpu = "torch raised IndexError: index 1 is out of bounds for dimension 0 with size 1"
    on_cuda = ("the CUDA context was lost in leg onnx>onnx2pytorch (stage onnx2pytorch): "
               "AcceleratorError: CUDA error: device-side assert triggered\nthe kernel said: "
               "IndexKernelUtils.cu:16: Assertion `ind >=0 && ind < ind_dim_size && "
               "\"vectorized gather kernel index out of bounds\"` failed.")
    for device, message in (("cpu", on_cpu), ("cuda", on_cuda)):
        assert recognised(spec, "onnx>onnx2pytorch", device, message) == [
            "onnx2pytorch-gather-negative-axis"], device


def test_topk_ties_are_recognised_on_both_devices_and_pinned_on_the_cpu():
    from suites.verdicts import skip_unless_it_holds_here

    issue = ISSUES["onnx2torch-topk-ties"]
    spec = LayerSpec("TopK", {"axis": 1, "largest": 0, "sorted": 1, "outputs": 2, "opset": 19,
                              "operands": ["in", {"const": [2], "dtype": "int64"}]},
                     ((4, 2),), dtype="float64", source="onnx", seed=5594)
    message = ("output [1] of 2: Values differ (compared exact (int64)): 4 / 8 elements "
               "(50.0%); first at index (2, 0): 1 vs 0 (expected).")
    for device in ("cpu", "cuda"):
        assert issue.id in recognised(spec, "onnx>onnx2torch", device, message,
                                      category="numeric_mismatch"), device
    assert (issue.devices, issue.pinned_on) == (None, ("cpu",))
    skip_unless_it_holds_here(issue, "cpu")
    with pytest.raises(pytest.skip.Exception, match="minimal specs reproduce on cpu, not on "
                                                    "cuda"):
        skip_unless_it_holds_here(issue, "cuda")


def test_pinned_on_names_devices_the_entry_holds_on(tmp_path):
    path = tmp_path / "issues.toml"
    path.write_text("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\nlegs = '*'\n"
                    "nature = 'limitation'\nparty = 'torch'\ndevices = ['cuda']\n"
                    "pinned_on = ['cpu']\n")
    with pytest.raises(known_issues.KnownIssueFileError,
                       match=r"issues.toml: issue\[0\] \(a\): pinned_on names cpu, where the "
                             r"entry does not hold \(devices = \['cuda'\]\)"):
        known_issues.load(path)


@pytest.mark.parametrize("message", [
    '"max_pool2d_with_indices_out_cuda_frame" not implemented for \'Char\'',
    '"max_pool3d_with_indices_out_frame" not implemented for \'Byte\''])
def test_integer_max_pooling_on_cuda_is_torchs_limitation(message):
    spec = ISSUES["torch-cuda-max-pool-integer"].minimal
    assert recognised(spec, "onnx>onnx2pytorch", "cuda", message) == [
        "torch-cuda-max-pool-integer"]
    assert recognised(spec, "onnx>onnx2pytorch", "cpu", message) == []


def test_the_device_mix_is_onnx2pytorchs_on_cuda_only():
    spec = LayerSpec("test_nonmaxsuppression_suppress_by_IOU", {"op": "NonMaxSuppression"},
                     ((1, 6, 4),), source="onnx", seed=0)
    message = ("torch raised RuntimeError: Expected all tensors to be on the same device, but "
               "found at least two devices, cuda:0 and cpu!")
    assert recognised(spec, "onnx>onnx2pytorch", "cuda", message) == ["onnx2pytorch-device-mix"]
    assert recognised(spec, "onnx>onnx2pytorch", "cpu", message) == []
    assert recognised(spec, "onnx>onnx2torch", "cuda", message) == []


def test_an_unknown_device_names_the_file_and_entry(tmp_path):
    path = tmp_path / "issues.toml"
    path.write_text("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\nlegs = '*'\n"
                    "nature = 'limitation'\nparty = 'torch'\ndevices = ['tpu']\n")
    with pytest.raises(known_issues.KnownIssueFileError,
                       match=r"issues.toml: issue\[0\] \(a\): devices must be a non-empty list "
                             r"of cpu, cuda; got \['tpu'\]"):
        known_issues.load(path)


def test_the_device_mix_script_reproduces_on_cuda_and_cannot_run_elsewhere(tmp_path):
    pytest.importorskip("onnx2pytorch")
    import torch

    script = tmp_path / "repro.py"  # as `parity issues export` writes it
    script.write_text(upstream.hand_written(ISSUES["onnx2pytorch-device-mix"]).text)
    # Standalone: not this repository on its path; packages installed by PYTHONPATH stay.
    installed = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if entry and Path(entry).resolve() != ROOT]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(installed)})
    last = done.stdout.strip().splitlines()[-1]
    if torch.cuda.is_available():
        assert (done.returncode, last.split(":")[0]) == (1, "REPRODUCED"), done.stdout
    else:
        assert done.returncode == 3, done.stdout + done.stderr
        assert last.startswith("CANNOT RUN: running on CUDA (RuntimeError: no CUDA device")
