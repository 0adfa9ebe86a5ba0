"""Framework import order and the versions a result is stamped with."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os

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
# Set to any value, tf2onnx runs its optimizers without the copy of the graph that lets it
# skip one that raises (docs/benchmarks.md). Set to 1, parity's tf2onnx stages convert as
# tf2onnx does by default, with the copies, where parity would run the passes on the graph
# itself and convert again only where one raised (harness.converters.tf2onnx_passes). What a
# tf2onnx conversion reads: every stage that runs tf2onnx declares them.
TF2ONNX_CATCH_ERRORS = "TF2ONNX_CATCH_ERRORS"
TF2ONNX_COPIES = "PARITY_TF2ONNX_COPIES"
TF2ONNX_ENVIRONMENT = (TF2ONNX_CATCH_ERRORS, TF2ONNX_COPIES)
# Recorded with every run, set or not: oneDNN (TF's default CPU kernels) is the reference's
# engine unless TF_ENABLE_ONEDNN_OPTS=0; see docs/sources-keras.md, "The reference".
RECORDED_ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES",
                        "NVIDIA_TF32_OVERRIDE", "CUDA_LAUNCH_BLOCKING", *TF2ONNX_ENVIRONMENT)


# What prepare_imports imports, in this order. torch and torchvision come before TensorFlow:
# in one process, TensorFlow imported first makes the later torchvision import abort the
# process (LLVM: "inconsistency in registered CommandLine options"). onnx2torch comes before
# torchvision, as onnx2torch's README imports it: it binds torch.onnx's symbolic_helper at
# import, and torchvision's import would hand it torch's public module, on which its modules'
# ONNX export fails (onnx2torch-onnx-export-private-opset-attribute, pinned in that order by
# its own script).
IMPORTED_FIRST = ("torch", "onnx2torch", "torchvision")


def prepare_imports() -> None:
    """Sets TensorFlow's environment and imports torch, onnx2torch and torchvision, those
    installed, before anything imports TensorFlow (``IMPORTED_FIRST`` says why this order)."""
    for name, value in TENSORFLOW_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for name in IMPORTED_FIRST:
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
