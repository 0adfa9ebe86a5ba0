"""Device blame: a leg that fails off the CPU is read again on the CPU from the same artifact,
and its record says whether the fault is the converter's or the device's.

No GPU is needed: the artifact's format has a runner registered here that computes wrongly on
the devices its artifact names (as a CUDA kernel that computes otherwise would), so the
pipeline, asked for device "cuda", takes the path a real CUDA leg takes.
"""

import os

import pytest

from harness import converters
from harness.core.artifact import Artifact
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.runtimes import device, register_runner
from harness.runtimes.torch import run_module
from tests.fakes import Stage

pytest.importorskip("onnx2torch")

FORMAT = "simulated-device"


class SimulatedDeviceRunner:
    name = "torch"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        if self.device in artifact.meta.get("no_kernel_on", ()):
            raise NotImplementedError(f'"max_pool1d_impl" not implemented for \'Char\' '
                                      f"({self.device})")
        outputs = run_module(artifact.model, inputs, "cpu")
        if self.device in artifact.meta["wrong_on"]:
            return [o + 1.0 for o in outputs]
        return outputs


def _stage(name: str, wrong_on: tuple[str, ...], no_kernel_on: tuple[str, ...] = ()):
    def make(artifact):
        torch_module = converters.get("onnx2torch").convert(artifact, converters.ConvertOptions())
        return Artifact(FORMAT, torch_module.model, torch_module.input_names,
                        {"wrong_on": wrong_on, "no_kernel_on": no_kernel_on})

    return Stage(name, "onnx", FORMAT, make)


@pytest.fixture
def on_cuda():
    """A harness on device "cuda" (its precision set, undone after), with the two stages."""
    saved, mode = dict(os.environ), device.precision()
    register_runner(FORMAT, SimulatedDeviceRunner)
    stages = [_stage("wrong-on-cuda", ("cuda",)), _stage("wrong-everywhere", ("cuda", "cpu")),
              _stage("no-kernel-anywhere", (), ("cuda", "cpu"))]
    for stage in stages:
        converters.register(stage)
    yield Harness("onnx>wrong-on-cuda,onnx>wrong-everywhere,onnx>no-kernel-anywhere",
                  device="cuda", diagnose=False, known_issues=[])
    for stage in stages:
        converters.unregister(stage.name)
    device.configure("cpu", mode)
    os.environ.clear()
    os.environ.update(saved)


def test_a_leg_right_on_the_cpu_is_the_devices_fault_and_one_wrong_there_the_converters(on_cuda):
    case = on_cuda.run(LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx", seed=2))
    legs = {leg.leg: leg for leg in case.legs}
    by_device = legs["onnx>wrong-on-cuda"]
    assert by_device.verdict == "fail"
    assert by_device.metrics["device_blame"] == {"device": "cuda", "on_cpu": "pass",
                                                 "fault": "device"}
    assert by_device.message.endswith("device blame: the same converted model passes on the "
                                      "CPU: the fault is the device's (cuda), not the "
                                      "converter's")
    by_converter = legs["onnx>wrong-everywhere"]
    assert by_converter.verdict == "fail"
    blamed = by_converter.metrics["device_blame"]
    assert (blamed["on_cpu"], blamed["fault"]) == ("fail", "converter")
    assert "the converter's fault, not the device's" in by_converter.message
    # torch without a kernel on either device (an H100 run's golden case: int8 max pooling)
    by_runtime = legs["onnx>no-kernel-anywhere"]
    assert by_runtime.verdict == "error"
    assert by_runtime.metrics["device_blame"] == {
        "device": "cuda", "on_cpu": "error", "fault": "runtime",
        "detail": "NotImplementedError: \"max_pool1d_impl\" not implemented for 'Char' (cpu)"}
    assert by_runtime.message.endswith("a limitation of the runtime on both devices, not shown "
                                       "to be the converter's")


def test_nothing_is_read_again_on_the_cpu_run_or_after_a_lost_context(on_cuda):
    from harness.core.records import LegResult
    from harness.run import device_blame

    leg = LegResult(path="p", leg="onnx>x", stage="x", runner="torch", verdict="error",
                    message="torch raised AcceleratorError: CUDA error: device-side assert "
                            "triggered")
    assert device_blame.blame_device(on_cuda, None, leg, None, None) is None
    assert leg.metrics is None
    cpu = Harness("onnx>onnx2torch", known_issues=[])
    leg.message = "wrong numbers"
    assert device_blame.blame_device(cpu, None, leg, None, None) is None
