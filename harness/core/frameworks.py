"""Framework import order and the versions a result is stamped with."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.metadata
import importlib.util
import os
import sys

# Distributions whose versions every run records (when installed).
TRACKED_PACKAGES = (
    "numpy",
    "tensorflow",
    "keras",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxscript",
    "torch",
    "torchvision",
    "onnx2torch",
    "onnx2pytorch",
    "scipy",
    "h5py",
    "hypothesis",
)


# Settings TensorFlow reads once, at import; prepare_imports sets them unless the user has.
TENSORFLOW_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# Recorded with every run, set or not: oneDNN (TF's default CPU kernels) is the reference's
# engine unless TF_ENABLE_ONEDNN_OPTS=0; see docs/sources-keras.md, "The reference".
RECORDED_ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES",
                        "NVIDIA_TF32_OVERRIDE", "CUDA_LAUNCH_BLOCKING")


def prepare_imports() -> None:
    """Sets TensorFlow's environment and makes torch and torchvision load before TensorFlow.

    In one process, TensorFlow imported first makes the later torchvision import abort the
    process (LLVM: "inconsistency in registered CommandLine options"); the other order works.
    torch and torchvision are imported when TensorFlow is first imported, just before it,
    not now: a process that never imports TensorFlow (pytest-xdist's controller, which only
    collects; a golden replay) does not pay for them (about 5 s of CPU) until it needs them.
    """
    for name, value in TENSORFLOW_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if any(name in sys.modules for name in TORCH_FIRST):  # too late to go first
        _import_torch()
    elif not any(isinstance(finder, _TorchFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TorchFirst())


# The packages whose first import must come after torch's and torchvision's.
TORCH_FIRST = ("tensorflow",)


def _import_torch() -> None:
    for name in ("torch", "torchvision"):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


class _TorchFirst(importlib.abc.MetaPathFinder):
    """An import hook that finds nothing: on the first import of a ``TORCH_FIRST`` package it
    removes itself, imports torch and torchvision, and lets the import go on."""

    def find_spec(self, name, path=None, target=None):
        if name in TORCH_FIRST:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)
            _import_torch()
        return None


def installed(package: str) -> bool:
    try:
        importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def versions(packages=TRACKED_PACKAGES) -> dict[str, str]:
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
