"""Runners: execute an artifact on NumPy inputs and return NumPy outputs.

One runner per artifact format, in a registry keyed by the format: a source or a stage
that makes a new format registers its runner with ``register_runner`` in its own file.
Each runner imports its framework on first use only, so that a replay needs only the
runtimes of the legs it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from harness.converters import Artifact


class RunError(RuntimeError):
    pass


class LoadError(RunError):
    """The runtime refused the model itself (invalid graph, unsupported op or type), before
    any input reached it."""


class Runner(Protocol):
    name: str

    def run(self, artifact: Artifact, inputs: list[np.ndarray]) -> list[np.ndarray]: ...


class KerasRunner:
    name = "keras"

    def run(self, artifact, inputs):
        from harness.sources.keras.model import run_keras

        return run_keras(artifact.model, inputs)


# onnxruntime's graph optimisation levels by the name an artifact carries in
# ``meta["ort_optimization"]``. Without one the model is read as written (DEFAULT_OPTIMIZATION):
# a converter's leg then shows the converter's graph, and onnxruntime's optimiser gets a leg
# of its own (the ``ort-optimized`` stage asks for "all"), so that a difference between the
# two blames the optimiser, not the converter. A golden store's ONNX artifact, stored
# without meta, replays as its live leg ran.
ORT_OPTIMIZATION_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
DEFAULT_OPTIMIZATION = "disable"


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads

    def providers(self) -> list[str]:
        if self.device == "cuda":
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    def session(self, model, optimization: str = DEFAULT_OPTIMIZATION):
        import onnxruntime as ort

        if optimization not in ORT_OPTIMIZATION_LEVELS:
            raise RunError(f"unknown onnxruntime optimisation level {optimization!r}; "
                           f"known: {', '.join(ORT_OPTIMIZATION_LEVELS)}")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = getattr(
            ort.GraphOptimizationLevel, ORT_OPTIMIZATION_LEVELS[optimization])
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        payload = model if isinstance(model, (bytes, str)) else model.SerializeToString()
        return ort.InferenceSession(payload, options, providers=self.providers())

    def run(self, artifact, inputs):
        try:
            session = self.session(artifact.model, optimization_of(artifact))
        except RunError:
            raise
        except Exception as exc:
            raise LoadError(f"onnxruntime cannot load the model: {type(exc).__name__}: {exc}") from exc
        names = [i.name for i in session.get_inputs()]
        if len(names) != len(inputs):
            raise RunError(f"the ONNX model takes {len(names)} inputs, the case has {len(inputs)}")
        return [np.asarray(o) for o in session.run(None, dict(zip(names, inputs)))]


def optimization_of(artifact: Artifact) -> str:
    """The onnxruntime optimisation level an ONNX artifact is read with."""
    return artifact.meta.get("ort_optimization", DEFAULT_OPTIMIZATION)


class TorchRunner:
    name = "torch"

    def __init__(self, device: str = "cpu"):
        self.device = device

    def run(self, artifact, inputs):
        import torch

        module = artifact.model.to(self.device).eval()
        # np.ascontiguousarray would make a 0-d input 1-d; np.array keeps its rank.
        tensors = [torch.from_numpy(np.array(x, order="C")).to(self.device) for x in inputs]
        with torch.inference_mode():
            outputs = module(*tensors)
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        elif isinstance(outputs, dict):
            outputs = list(outputs.values())
        return [o.detach().cpu().numpy() for o in outputs]


class SavedModelRunner:
    """A TF SavedModel directory, loaded with ``tf.saved_model.load``; calls ``serve``."""

    name = "savedmodel"

    def run(self, artifact, inputs):
        from harness.converters.saved_formats import load_savedmodel, run_savedmodel

        return run_savedmodel(load_savedmodel(artifact.model), inputs)


class KerasTorchRunner:
    """A ``.keras`` file run by Keras on its PyTorch backend, in a persistent worker process
    (Keras fixes its backend per process)."""

    name = "keras-torch"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads

    def run(self, artifact, inputs):
        from harness.converters.keras_torch_backend import worker

        return worker(self.device, self.threads).run(artifact.model, inputs)


RunnerFactory = Callable[[str, int], Runner]  # (device, threads) -> Runner
_RUNNERS: dict[str, RunnerFactory] = {
    "keras": lambda device, threads: KerasRunner(),
    "onnx": OnnxRuntimeRunner,
    "torch": lambda device, threads: TorchRunner(device),
    "savedmodel": lambda device, threads: SavedModelRunner(),
    "keras-torch": KerasTorchRunner,
}


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
    return factory(device, threads)
