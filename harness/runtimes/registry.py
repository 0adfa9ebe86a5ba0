"""Runners: execute an artifact on NumPy inputs and return NumPy outputs.

One runner per artifact format, in a registry keyed by the format. The built-in formats are
named by ``"module:Class"`` strings, resolved on first use, so that this registry imports no
framework and no module above it: each runner lives next to what makes its format (the
Keras source, the saved-format stages, the Keras-on-torch stage) or in its framework's own
module here. A plugin, a source or a stage that makes a new format registers its runner with
``register_runner`` in its own file. Each runner imports its framework on first use only, so
that a replay needs only the runtimes of the legs it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from harness.core import installed


class RunError(RuntimeError):
    pass


class LoadError(RunError):
    """The runtime refused the model itself (invalid graph, unsupported op or type), before
    any input reached it."""


class MachineLacks(LoadError):
    """The runtime cannot load the model on this machine, which lacks something the model's
    ops need (a system locale): neither the model's fault nor a converter's, and another
    machine may run it; said as such, never kept as the leg's failure."""


class Runner(Protocol):
    name: str

    def run(self, artifact: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """``artifact`` is a ``harness.converters.Artifact`` of the runner's format."""
        ...


RunnerFactory = Callable[[str, int], Runner]  # (device, threads) -> Runner

# A built-in format's runner class, called with (device, threads).
BUILTIN: dict[str, str] = {
    "keras": "harness.sources.keras.runner:KerasRunner",
    "onnx": "harness.runtimes.onnxruntime:OnnxRuntimeRunner",
    "torch": "harness.runtimes.torch:TorchRunner",
    "savedmodel": "harness.converters.saved_formats:SavedModelRunner",
    "keras-torch": "harness.converters.keras_torch_backend:KerasTorchRunner",
    "tflite": "harness.runtimes.litert:LiteRtRunner",
    "tf-signature": "harness.converters.onnx2tf_stage:SignatureRunner",
}
_RUNNERS: dict[str, RunnerFactory | str] = dict(BUILTIN)
# The distributions a built-in format's runner imports: a golden replay runs a stored
# artifact with its runner alone, without the stage that made it.
PACKAGES: dict[str, tuple[str, ...]] = {
    "keras": ("keras",), "onnx": ("onnxruntime",), "torch": ("torch",),
    "savedmodel": ("tensorflow",), "keras-torch": ("keras", "torch"),
    "tflite": ("ai-edge-litert",), "tf-signature": ("tensorflow",),
}


def runner_missing(fmt: str) -> str | None:
    """Why the runner of ``fmt`` artifacts cannot run here (its package not installed), with
    what to install; None where it can."""
    return installed.missing_text(f"the {fmt} runner", PACKAGES.get(fmt, ()))


def register_runner(fmt: str, factory: RunnerFactory) -> RunnerFactory:
    """Registers the runner of artifacts of format ``fmt``: ``factory(device, threads)``."""
    _RUNNERS[fmt] = factory
    return factory


def formats() -> list[str]:
    return sorted(_RUNNERS)


def runner_for(fmt: str, device: str = "cpu", threads: int = 0) -> Runner:
    try:
        factory = _RUNNERS[fmt]
    except KeyError:
        raise RunError(f"no runner for artifacts of format {fmt!r}; "
                       f"runners: {', '.join(formats())}") from None
    if isinstance(factory, str):
        factory = _RUNNERS[fmt] = _resolve(factory)
    return factory(device, threads)


def _resolve(target: str) -> RunnerFactory:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
