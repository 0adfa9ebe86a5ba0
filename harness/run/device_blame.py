"""Device blame: a leg that fails on CUDA is read again on the CPU, from the same artifact.

Blame already says which stage a divergence entered by (``pipeline._attribute``). On a GPU
there is one more suspect: the device. So when a leg fails on a device other than the CPU,
the same converted artifact (the module the converter built, not a new conversion) runs again
on the CPU, at the same inputs, against the same reference, by the CPU's tolerance. The leg's
``metrics["device_blame"]`` says what that gave, and its message ends with the verdict:

- ``fault: "converter"``: wrong on the CPU too: the converter's (the stage's) fault;
- ``fault: "device"``: right on the CPU, wrong on the device: the device's (a kernel that
  computes otherwise there, one missing there, or a tensor the module made on another device);
- ``fault: "runtime"``: the CPU has no kernel for it either (torch's ``"max_pool1d_impl" not
  implemented for 'Char'``): neither device runs the module, a limitation of the runtime, and
  nothing says the converter built it wrong.

A leg whose failure lost the device context (``harness.runtimes.device``) is not read again:
nothing more can run in that process, and the worker's containment reports it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from harness.core.compare import compare_outputs, worst_comparison
from harness.run.stage_cache.cache import materialised
from harness.runtimes import runner_for
from harness.runtimes.device import looks_like_device_fault

CPU = "cpu"
# torch's dispatcher, where a device has no kernel for an operation at a dtype
MISSING_KERNEL = re.compile(r"\"[\w.]+\" not implemented for '\w+'")


def blame_device(harness, spec, leg, artifact, size) -> dict[str, Any] | None:
    """Reads ``artifact`` on the CPU at ``size`` and records on ``leg`` whose fault its failure
    on ``harness.device`` is; returns what was recorded (None where nothing was tried)."""
    if harness.device == CPU or leg.verdict not in ("fail", "error") \
            or looks_like_device_fault(leg.message):
        return None
    on_cpu = copy.copy(materialised(artifact))
    if artifact.format == "torch":  # the runner moves a module to its device: a copy goes
        try:
            on_cpu.model = copy.deepcopy(artifact.model).to(CPU)
        except Exception as exc:  # noqa: BLE001 (the copy itself failed: say so)
            return _record(leg, harness.device, "error", None,
                           f"could not copy the module to the CPU: {type(exc).__name__}: {exc}")
    tolerance = harness.policy.for_spec(spec, leg.leg, CPU)
    try:
        outputs = runner_for(artifact.format, CPU, harness.threads).run(on_cpu, size.inputs)
    except Exception as exc:  # noqa: BLE001 (the CPU's error is the finding)
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        missing = isinstance(exc, NotImplementedError) and MISSING_KERNEL.search(str(exc))
        return _record(leg, harness.device, "error", "runtime" if missing else "converter", text)
    worst = worst_comparison(compare_outputs(outputs, size.reference, tolerance))
    if worst.passed:
        return _record(leg, harness.device, "pass", "device", None)
    return _record(leg, harness.device, "fail", "converter", worst.message.splitlines()[0])


def _record(leg, device: str, on_cpu: str, fault: str | None, detail: str | None):
    found = {"device": device, "on_cpu": on_cpu, "fault": fault}
    if detail:
        found["detail"] = detail
    leg.metrics = {**(leg.metrics or {}), "device_blame": found}
    if fault == "device":
        leg.message += (f"\ndevice blame: the same converted model passes on the CPU: the "
                        f"fault is the device's ({device}), not the converter's")
    elif fault == "runtime":
        leg.message += (f"\ndevice blame: the same converted model has no kernel on the CPU "
                        f"either ({detail}): a limitation of the runtime on both devices, not "
                        f"shown to be the converter's")
    elif fault == "converter":
        leg.message += (f"\ndevice blame: the same converted model fails on the CPU too "
                        f"({on_cpu}: {detail}): the converter's fault, not the device's")
    else:
        leg.message += f"\ndevice blame: not read on the CPU ({detail})"
    return found
