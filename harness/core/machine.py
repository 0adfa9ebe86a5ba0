"""What this machine's CPU is, as ``/proc/cpuinfo`` says: the records name it, the stage
cache keys on it (another CPU may round differently), and TensorFlow's choice of kernels
depends on its flags (oneDNN by default only with AVX-512). And whether it can run CUDA legs."""

from __future__ import annotations

import functools
import platform
from pathlib import Path


@functools.cache
def cpuinfo_lines() -> tuple[str, ...]:
    try:
        return tuple(Path("/proc/cpuinfo").read_text(errors="replace").splitlines())
    except OSError:  # not Linux
        return ()


def cpuinfo_line(field: str) -> str:
    """The first line of ``/proc/cpuinfo`` that starts with ``field``, whole; "" if none."""
    return next((line for line in cpuinfo_lines() if line.startswith(field)), "")


def cpu_model() -> str:
    line = cpuinfo_line("model name")
    return line.split(":", 1)[1].strip() if line else (platform.processor()
                                                        or platform.machine())


def cpu_flags() -> frozenset[str]:
    line = cpuinfo_line("flags")
    return frozenset(line.split(":", 1)[1].split()) if line else frozenset()


def cuda_unavailable() -> str | None:
    """Why the CUDA legs cannot run here, or None when they can."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is False)"
    return None
