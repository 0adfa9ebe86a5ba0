"""Framework import order and the versions a result is stamped with."""

from __future__ import annotations

import importlib.metadata
import importlib.util

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


def prepare_imports() -> None:
    """Import torch and torchvision before anything imports TensorFlow.

    In one process, TensorFlow imported first makes the later torchvision import abort the
    process (LLVM: "inconsistency in registered CommandLine options"); the other order works.
    """
    for name in ("torch", "torchvision"):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


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
