"""The process' device contexts: whether one is lost, and the precision the legs run at.

A CUDA fault of one kind does not end with the call that raised it: a device-side assert (an
out-of-range index in a gather or scatter kernel, where the CPU raises a clean RuntimeError),
an illegal memory access or a launch failure leaves the process' CUDA context unusable, and
every later CUDA call in the process fails with the same error (DESIGN.md, "Known hazards").
Only a new process recovers. So after a leg fails, the worker asks ``lost()`` whether a
context of the process is gone; ``harness.run.isolation`` then ends that worker, records the
case that lost it and runs the next case in a fresh one.

A context is a ``DeviceContext``: its ``label`` ("CUDA"), whether this process has used it
(``active``), and ``probe()``, which runs a trivial operation on it and returns the error it
raises (None: the context works). The CUDA context is built in; a plugin module may
``register`` another. The tests plant a fault that way (tests/device_faults.py): a context
whose probe fails once a stage has poisoned it, so that a planted fault and a real one are
found by the same probe and take the same path to the record.

Precision: on CUDA the legs run with TF32 and reduced-precision reductions off and cuDNN's
autotuning off (``configure``), so that a difference is the converter's, and a re-run gives
the same numbers; ``--parity-tf32`` runs as users run, TF32 on (docs/tolerances.md). What was
set is ``settings()``, recorded in every record.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Protocol

# Texts of the errors after which a CUDA context may be unusable (torch's and the CUDA
# runtime's own words); whether it is, the probe says.
CUDA_FAULT_MARKERS = (
    "device-side assert", "illegal memory access", "CUDA error", "unspecified launch failure",
    "misaligned address", "illegal instruction", "AcceleratorError", "CUDA kernel errors",
)
# A kernel's own assertion, printed on the process' stderr by the device:
# ".../IndexKernel.cu:111: operator(): block: [0,0,0], thread: [0,0,0] Assertion `...` failed."
KERNEL_ASSERTION = re.compile(r"(\S+\.cuh?:\d+):.*?(Assertion .*? failed\.?)")
KERNEL_LINES_KEPT = 3

STRICT = "strict"
TF32 = "tf32"
PRECISIONS = (STRICT, TF32)
# The device name the tolerance policy and known issues see in TF32 mode: its own rules
# (harness.core.tolerance's built-in TF32 rule) hold there.
TF32_DEVICE = "cuda-tf32"


class DeviceContext(Protocol):
    label: str  # "CUDA": what the record says was lost

    def active(self) -> bool:
        """This process has used the device (a context exists to lose)."""
        ...

    def probe(self) -> str | None:
        """None when a trivial operation on the device works; else the error it raised."""
        ...


class CudaContext:
    label = "CUDA"

    def active(self) -> bool:
        torch = sys.modules.get("torch")  # a process that never imported torch has no context
        return torch is not None and torch.cuda.is_initialized()

    def probe(self) -> str | None:
        import torch

        try:
            torch.cuda.synchronize()
            (torch.ones(1, device="cuda") + 1).cpu()
        except Exception as exc:  # noqa: BLE001 (any error here is the context's answer)
            return f"{type(exc).__name__}: {exc}".strip()
        return None


_CONTEXTS: list[DeviceContext] = [CudaContext()]


def register(context: DeviceContext) -> DeviceContext:
    """Adds a device context that ``lost()`` probes (a plugin's accelerator, a test's plant)."""
    _CONTEXTS.append(context)
    return context


def unregister(context: DeviceContext) -> None:
    if context in _CONTEXTS:
        _CONTEXTS.remove(context)


class Lost:
    """A context that its probe found unusable: which, and the error the probe met."""

    def __init__(self, label: str, error: str):
        self.label, self.error = label, error

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Lost:
        return cls(data["label"], data["error"])


def lost() -> Lost | None:
    """The first context of this process that is in use and no longer works, else None."""
    for context in list(_CONTEXTS):
        try:
            if not context.active():
                continue
            error = context.probe()
        except Exception as exc:  # noqa: BLE001 (a context that cannot even be asked is lost)
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            return Lost(context.label, error)
    return None


def looks_like_device_fault(message: str) -> bool:
    """The message has the words of a CUDA fault (not proof that the context is lost)."""
    return any(marker in (message or "") for marker in CUDA_FAULT_MARKERS)


def kernel_messages(output: str) -> list[str]:
    """The kernels' own assertions in a process' output, each once (the device prints one per
    failing thread): ``IndexKernel.cu:111: Assertion `... index out of bounds` failed.``"""
    found: list[str] = []
    for line in (output or "").splitlines():
        match = KERNEL_ASSERTION.search(line)
        if match:
            text = f"{os.path.basename(match.group(1))}: {match.group(2)}"
            if text not in found:
                found.append(text)
        if len(found) == KERNEL_LINES_KEPT:
            break
    return found


def warm_up(device: str) -> str | None:
    """Starts ``device``'s context and the libraries a leg calls first (cuBLAS, cuDNN), so that
    a worker pays for them while it starts, overlapping pytest's collection, and not in its
    first case (about 2 s on an H100). Returns the error met, or None; a device that cannot
    start is the legs' to report."""
    if device != "cuda":
        return None
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        square = torch.ones(1, 1, 8, 8, device="cuda")
        (square[0, 0] @ square[0, 0]).sum()
        torch.nn.functional.conv2d(square, torch.ones(1, 1, 3, 3, device="cuda"))
        torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001 (reported in the worker's ready message)
        return f"{type(exc).__name__}: {exc}"
    return None


# -- precision ---------------------------------------------------------------------------------

def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return precision


def prepare_environment(device: str, precision: str = STRICT,
                        environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a process that runs CUDA legs starts with: in the strict mode
    ``NVIDIA_TF32_OVERRIDE=0``, which turns TF32 off in every library the process loads
    (cuBLAS, cuDNN, those of TensorFlow and onnxruntime too), before any of them starts."""
    environ = dict(os.environ if environ is None else environ)
    if device == "cuda" and check_precision(precision) == STRICT:
        environ["NVIDIA_TF32_OVERRIDE"] = "0"
    elif device == "cuda" and environ.get("NVIDIA_TF32_OVERRIDE") == "0":
        del environ["NVIDIA_TF32_OVERRIDE"]  # TF32 mode runs as users run: TF32 on
    return environ


def configure(device: str, precision: str = STRICT) -> dict[str, Any]:
    """Sets torch's precision flags for ``device`` in this process and returns ``settings``.
    On CUDA, strict: TF32 off for matmul and cuDNN, ``float32_matmul_precision`` "highest",
    float16/bfloat16 reduced-precision reductions off; TF32: as torch runs for a user who
    turned TF32 on (matmul and cuDNN). Both modes: cuDNN autotuning off and deterministic
    algorithms, so that a re-run gives the same numbers. The CPU is left as it is."""
    check_precision(precision)
    global _PRECISION
    _PRECISION = precision
    if device != "cuda":
        return settings(device)
    wanted = prepare_environment(device, precision)
    for name in ("NVIDIA_TF32_OVERRIDE",):  # read by the CUDA libraries when they load
        if name in wanted:
            os.environ[name] = wanted[name]
        else:
            os.environ.pop(name, None)
    try:
        import torch
    except ImportError:
        return settings(device)
    tf32 = precision == TF32
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    matmul = torch.backends.cuda.matmul
    # The legacy flags, on every release: torch 2.9+ also has per-backend fp32_precision, but
    # once conv and RNN are set "ieee" through it, reading the legacy cudnn.allow_tf32 raises
    # ("a mix of the legacy and new APIs"), and torch.export and cudnn.flags() read it: every
    # torch-export leg after a CUDA run's set-up then failed (torch 2.15).
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    if not tf32:
        matmul.allow_fp16_reduced_precision_reduction = False
        matmul.allow_bf16_reduced_precision_reduction = False
    return settings(device)


_PRECISION = STRICT


def precision() -> str:
    """The precision mode ``configure`` set in this process (strict until it is called)."""
    return _PRECISION


def onnxruntime_cuda_options() -> dict[str, str]:
    """onnxruntime's CUDA provider options for the process' precision mode."""
    return {"use_tf32": "1" if _PRECISION == TF32 else "0", "cudnn_conv_algo_search": "DEFAULT"}


def settings(device: str) -> dict[str, Any]:
    """What the legs of ``device`` run with in this process, as the records keep it."""
    found: dict[str, Any] = {"device": device, "precision": _PRECISION}
    if device != "cuda":
        return found
    found["NVIDIA_TF32_OVERRIDE"] = os.environ.get("NVIDIA_TF32_OVERRIDE")
    found["onnxruntime_cuda"] = {"use_tf32": int(onnxruntime_cuda_options()["use_tf32"])}
    torch = sys.modules.get("torch")
    if torch is not None:
        found["torch"] = _torch_flags(torch)
    return found


def _torch_flags(torch) -> dict[str, Any]:
    """torch's precision flags, read through the legacy API ``configure`` sets them with."""
    backends = torch.backends
    matmul = backends.cuda.matmul
    flags: dict[str, Any] = {}
    flags.update(float32_matmul_precision=torch.get_float32_matmul_precision(),
                 matmul_allow_tf32=bool(matmul.allow_tf32),
                 cudnn_allow_tf32=bool(backends.cudnn.allow_tf32))
    flags.update(
        fp16_reduced_precision_reduction=bool(matmul.allow_fp16_reduced_precision_reduction),
        bf16_reduced_precision_reduction=bool(matmul.allow_bf16_reduced_precision_reduction),
        cudnn_benchmark=bool(backends.cudnn.benchmark),
        cudnn_deterministic=bool(backends.cudnn.deterministic))
    return flags


def describe(found: dict[str, Any] | None) -> str | None:
    """``settings`` in one line, as the records and the report's header show it."""
    if not found:
        return None
    if found.get("device") != "cuda":
        return f"{found.get('device')}: float32 as the CPU computes it"
    torch = found.get("torch") or {}
    tf32 = sorted({v for k, v in torch.items() if k.endswith("fp32_precision")}
                  | {("tf32" if v else "ieee") for k, v in torch.items()
                     if k.endswith("allow_tf32")})
    parts = [f"{found.get('precision')}: torch fp32 {'/'.join(tf32) or 'unread'}"
             + ("" if "float32_matmul_precision" not in torch
                else f" (matmul precision {torch['float32_matmul_precision']})"),
             f"NVIDIA_TF32_OVERRIDE={found.get('NVIDIA_TF32_OVERRIDE')}",
             "reduced-precision reductions "
             + ("on" if torch.get("fp16_reduced_precision_reduction") else "off"),
             f"cuDNN benchmark {'on' if torch.get('cudnn_benchmark') else 'off'}",
             f"deterministic {'on' if torch.get('cudnn_deterministic') else 'off'}",
             f"onnxruntime CUDA use_tf32={(found.get('onnxruntime_cuda') or {}).get('use_tf32')}"]
    return ", ".join(parts)
