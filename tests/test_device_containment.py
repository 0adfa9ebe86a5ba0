"""A device context lost by one case (a CUDA device-side assert) costs that case one record and
nothing else: the worker that ran it ends, the next case runs in a fresh one, and Hypothesis,
shrinking under containment, reports the trigger, not a victim.

Everywhere: the fault is planted (tests/device_faults.py), in the worker, through the same
device-context probe a real CUDA fault meets. Where torch sees a CUDA device: a real
device-side assert, an out-of-range index_select on CUDA, between two good cases.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.core.machine import cuda_unavailable
from harness.core.spec import LayerSpec
from harness.report import load_results
from harness.run.isolation import IsolatedHarness
from harness.run.pipeline import DeviceContextLost, Harness
from harness.runtimes import device

pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[1]
WARM = ("onnx", "onnxruntime", "onnx2torch")  # the ONNX cases' modules: no TensorFlow
PLANTED = "onnx>planted-assert"


def relu(width: int) -> LayerSpec:
    return LayerSpec("Relu", {"opset": 17}, ((1, width),), source="onnx", seed=width)


@pytest.fixture(scope="module")
def faults():
    """The planted stage, registered in this process too (the parent reads the path); its
    context only matters in the worker, where the stage runs."""
    import tests.device_faults as module

    device.unregister(module.CONTEXT)
    return module


@pytest.fixture
def planted(faults):
    harness = IsolatedHarness(PLANTED, plugins=["tests.device_faults"], warm=WARM,
                              timeout=120)
    yield harness
    harness.close()


def _the_leg(case):
    [leg] = [leg for leg in case.legs if leg.leg == PLANTED]
    return leg


def test_a_lost_context_is_one_record_and_the_next_case_runs_in_a_fresh_worker(planted):
    good, trigger, after = (planted.run(relu(2)), planted.run(relu(3)), planted.run(relu(4)))
    assert planted.starts == 2 and planted.contexts_lost == 1
    assert {leg.verdict for leg in good.legs} == {"pass"}
    assert {leg.verdict for leg in after.legs} == {"pass"}  # no victim

    leg = _the_leg(trigger)
    assert (leg.verdict, leg.category, leg.blame) == ("error", "runtime_error", "planted-assert")
    assert leg.message.startswith(
        "the CUDA context was lost in leg onnx>planted-assert (stage planted-assert): "
        "AcceleratorError: CUDA error: device-side assert triggered\n")
    # the kernel's own words, from the worker's stderr, once though every thread printed them
    kernel = ("the kernel said: PlantedIndexKernel.cu:111: Assertion `-sizes[i] <= index && "
              "index < sizes[i] && \"index out of bounds\"` failed.")
    assert leg.message.count(kernel) == 1
    assert ("the case's other legs and the next case run in a fresh worker process; this leg "
            "was not retried") in leg.message
    assert "--- the leg's own error ---\ntorch raised RuntimeError: CUDA error: device-side " \
        "assert triggered" in leg.message
    # the legs that were judged before the fault keep their verdicts
    assert [leg.verdict for leg in trigger.legs if leg.leg == "onnx"] in ([], ["pass"])


def test_the_case_legs_that_do_not_start_from_the_lost_one_run_in_the_fresh_worker(faults):
    """A leg that loses the context hides no other converter's verdict on the case: the legs
    that do not start from it run in the replacement worker; those that do are recorded as
    not run, named as the case's own legs (the harness' first paths are another source's)."""
    harness = IsolatedHarness("keras>tf2onnx,onnx>planted-assert>torch-export,onnx>ort-optimized",
                              plugins=["tests.device_faults"], warm=WARM, timeout=120)
    try:
        case = harness.run(relu(3))
        assert (harness.starts, harness.contexts_lost) == (2, 1)
    finally:
        harness.close()
    by_leg = {leg.leg: leg for leg in case.legs}
    assert set(by_leg) <= {"onnx", PLANTED, f"{PLANTED}>torch-export", "onnx>ort-optimized"}
    assert (by_leg[PLANTED].verdict, by_leg[PLANTED].context_lost) == ("error", "CUDA")
    assert by_leg["onnx>ort-optimized"].verdict == "pass"
    downstream = by_leg[f"{PLANTED}>torch-export"]
    assert (downstream.verdict, downstream.category) == ("skip", "upstream_error")
    assert downstream.message.startswith("not run: the CUDA context was lost in leg onnx>planted")


def test_after_a_lost_context_a_spare_worker_is_ready_for_the_next_loss(planted):
    """The first loss starts the replacement and a spare beside it; the second loss switches
    to that spare, already started, and starts another. Every case still gets its own record,
    and none is a victim."""
    trigger = relu(3)
    planted.run(relu(2))
    assert planted.spares == 1 and not planted._spares  # nothing spare before a death
    first = planted.run(trigger)
    [spare] = planted._spares
    assert spare.alive() and spare.pid != planted.pid
    assert {leg.verdict for leg in planted.run(relu(4)).legs} == {"pass"}
    second = planted.run(trigger)
    assert planted.pid == spare.pid  # the spare took the dead worker's place
    assert len(planted._spares) == 1 and planted._spares[0].pid != spare.pid
    after = planted.run(relu(5))
    assert (planted.starts, planted.contexts_lost) == (3, 2)
    for case in (first, second):
        assert _the_leg(case).message.startswith("the CUDA context was lost in leg ")
    assert {leg.verdict for leg in after.legs} == {"pass"}
    planted.close()
    assert not planted._spares and not spare.alive()


def test_in_one_process_the_case_after_a_lost_context_is_refused_never_a_victim(faults):
    """Without a worker to end (``parity check --device cuda``, a Harness of one's own), the
    harness says the context was lost on the trigger's leg and refuses every later case with
    an error that names it. The plant is sticky, as a real context is: a fresh harness in the
    same process meets the poisoned context (a victim), which is why a suite isolates."""
    device.register(faults.CONTEXT)
    harness = Harness(PLANTED)
    try:
        assert _the_leg(harness.run(relu(2))).verdict == "pass"
        trigger = _the_leg(harness.run(relu(3)))
        with pytest.raises(DeviceContextLost,
                           match=r"the CUDA context of this process was lost in leg "
                                 r"onnx>planted-assert of case [0-9a-f]{16}: AcceleratorError"):
            harness.run(relu(4))
        victim = _the_leg(Harness(PLANTED).run(relu(4)))
    finally:
        faults.CONTEXT.poisoned = False
        device.unregister(faults.CONTEXT)
    assert (trigger.verdict, trigger.category) == ("error", "runtime_error")
    assert trigger.message.startswith("the CUDA context was lost in leg onnx>planted-assert "
                                      "(stage planted-assert): AcceleratorError: CUDA error: "
                                      "device-side assert triggered\n")
    assert victim.verdict == "error" and "device-side assert triggered" in victim.message


def _shrunk(run_case) -> LayerSpec:
    """The case Hypothesis reports after shrinking a test that fails when a case fails."""
    seen: list[LayerSpec] = []

    # Each failing example costs a worker's start under containment: a small space, shrunk.
    @settings(max_examples=20, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(st.integers(2, 3), st.integers(0, 2))
    def relu_converts(width, seed):
        seen.append(LayerSpec("Relu", {"opset": 17}, ((1, width),), source="onnx", seed=seed))
        case = run_case(seen[-1])
        assert not case.failures, seen[-1]

    with pytest.raises(AssertionError):
        relu_converts()
    return seen[-1]  # Hypothesis replays the minimal example last


def test_in_one_process_hypothesis_shrinks_to_a_victim(faults):
    """The hazard containment removes: shrinking under the poisoned context ends at a
    victim, a case that passes on its own."""
    device.register(faults.CONTEXT)
    try:
        minimal = _shrunk(lambda spec: Harness(PLANTED).run(spec))  # no guard carried over
    finally:
        faults.CONTEXT.poisoned = False
        device.unregister(faults.CONTEXT)
    assert minimal.input_shapes != ((1, faults.TRIGGER),)
    assert not Harness(PLANTED).run(minimal).failures


def test_hypothesis_shrinks_to_the_trigger_under_containment(planted, faults):
    minimal = _shrunk(planted.run)
    assert minimal.input_shapes == ((1, faults.TRIGGER),)  # the trigger, not a victim
    # the reported example fails on its own, in a fresh process
    alone = IsolatedHarness(PLANTED, plugins=["tests.device_faults"], warm=WARM, timeout=120)
    try:
        assert _the_leg(alone.run(minimal)).verdict == "error"
        assert alone.contexts_lost == 1
    finally:
        alone.close()


def test_a_failure_that_leaves_the_context_working_keeps_the_worker(planted):
    """A leg that fails for its own sake (not the device's) costs no restart."""
    case = planted.run(LayerSpec("Relu", {"opset": 17}, ((1, 2),), source="onnx", seed=1))
    assert {leg.verdict for leg in case.legs} == {"pass"}
    assert planted.starts == 1 and planted.contexts_lost == 0


def test_kernel_messages_are_read_once_from_a_worker_output():
    output = "\n".join(["noise", *(
        f"/x/IndexKernel.cu:111: operator(): block: [0,0,0], thread: [{t},0,0] Assertion "
        "`index out of bounds` failed." for t in range(40))])
    assert device.kernel_messages(output) == [
        "IndexKernel.cu:111: Assertion `index out of bounds` failed."]
    assert device.kernel_messages("RuntimeError: boom") == []


SUITE = '''
import pytest
from harness.core.spec import LayerSpec


@pytest.mark.parametrize("width", [2, 3, 4, 5])
def test_relu(parity, width):
    parity.check(LayerSpec("Relu", {"opset": 17}, ((1, width),), source="onnx", seed=width))
'''


def test_a_run_counts_its_lost_contexts_in_the_summary_and_the_report(pytester, monkeypatch):
    """Across xdist workers: the terminal's summary line, the shards' run_end records that
    results.jsonl merges, and the HTML header all count the one context the trigger lost; the
    trigger's record is marked, the cases after it pass."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--parity-isolate", "--parity-cache", "none",
        "--parity-plugins", "tests.device_faults", "--parity-paths", PLANTED)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "parity: the CUDA context was lost 1 time: each time its worker was ended and the next "
        "case ran in a fresh one (the case that lost it is an error in the report)"])
    records = [json.loads(line) for line in
               (pytester.path / "reports" / "results.jsonl").read_text().splitlines()]
    ends = [r for r in records if r["record"] == "run_end"]
    assert sorted(end["shard"] for end in ends) == ["gw0", "gw1"]
    assert sum(end["contexts_lost"].get("CUDA", 0) for end in ends) == 1
    assert sum(end["workers_started"] for end in ends) == 3  # two, and the trigger's fresh one
    lost = [r for r in records if r["record"] == "result" and (r["failure"] or {}).get(
        "context_lost")]
    assert [(r["leg"], r["failure"]["context_lost"], r["spec"]["input_shapes"]) for r in lost] \
        == [(PLANTED, "CUDA", [[1, 3]])]
    assert load_results([pytester.path / "reports" / "results.jsonl"]).contexts_lost() == \
        {"CUDA": 1}
    assert "CUDA context lost 1 time" in (pytester.path / "reports" / "parity.html").read_text()


# -- on a real GPU -------------------------------------------------------------------------------

needs_cuda = pytest.mark.skipif(cuda_unavailable() is not None,
                                reason=f"needs a CUDA GPU: {cuda_unavailable()}")

CUDA_STAGE = '''
import torch
from harness import converters
from tests.fakes import Fake, with_forward


def _forward(module, *xs):
    out = module(*xs)
    if xs[0].shape[-1] == 3:  # a real out-of-range index on the device: a device-side assert
        index = torch.tensor([0, 10 ** 6], device=out.device)
        return torch.index_select(out, -1, index)
    return out


converters.register(Fake("cuda-assert", "onnx2torch",
                         after=lambda converted: with_forward(converted, _forward)))
'''


@needs_cuda
def test_a_real_device_side_assert_between_two_good_cases(tmp_path, monkeypatch):
    (tmp_path / "cuda_assert_stage.py").write_text(CUDA_STAGE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cuda_assert_stage  # noqa: F401 (registers the stage in this process too)

    harness = IsolatedHarness("onnx>cuda-assert", device="cuda", plugins=["cuda_assert_stage"],
                              warm=WARM, timeout=300)
    try:
        good, trigger, after = (harness.run(relu(2)), harness.run(relu(3)), harness.run(relu(4)))
        settings_seen = harness.precision_settings
    finally:
        harness.close()
    assert {leg.verdict for leg in good.legs} == {"pass"}
    assert {leg.verdict for leg in after.legs} == {"pass"}
    [leg] = [leg for leg in trigger.legs if leg.leg == "onnx>cuda-assert"]
    assert (leg.verdict, leg.category) == ("error", "runtime_error")
    assert leg.message.startswith("the CUDA context was lost in leg onnx>cuda-assert")
    assert "device-side assert triggered" in leg.message
    assert "the kernel said: " in leg.message and ".cu:" in leg.message
    assert harness.contexts_lost == 1 and harness.starts == 2
    assert settings_seen["precision"] == "strict"
    assert settings_seen["NVIDIA_TF32_OVERRIDE"] == "0"


@needs_cuda
def test_the_probe_finds_a_real_lost_context_in_a_process_of_its_own():
    code = ("import torch\nfrom harness.runtimes import device\n"
            "x = torch.ones(2, device='cuda')\nassert device.lost() is None\n"
            "try:\n    torch.index_select(x, 0, torch.tensor([5], device='cuda')).cpu()\n"
            "except Exception:\n    pass\nlost = device.lost()\n"
            "print(lost.label, '|', lost.error.splitlines()[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("CUDA | ") and "device-side assert" in out.stdout
