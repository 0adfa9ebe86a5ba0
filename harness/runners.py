"""Runners: execute an artifact on NumPy inputs and return NumPy outputs.

One runner per artifact format; each imports its framework on first use only, so that a
replay needs only the runtimes of the legs it runs.
"""

from __future__ import annotations

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
        from harness.keras_source import run_keras

        return run_keras(artifact.model, inputs)


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads

    def providers(self) -> list[str]:
        if self.device == "cuda":
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    def session(self, model):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        payload = model if isinstance(model, (bytes, str)) else model.SerializeToString()
        return ort.InferenceSession(payload, options, providers=self.providers())

    def run(self, artifact, inputs):
        try:
            session = self.session(artifact.model)
        except Exception as exc:
            raise LoadError(f"onnxruntime cannot load the model: {type(exc).__name__}: {exc}") from exc
        names = [i.name for i in session.get_inputs()]
        if len(names) != len(inputs):
            raise RunError(f"the ONNX model takes {len(names)} inputs, the case has {len(inputs)}")
        return [np.asarray(o) for o in session.run(None, dict(zip(names, inputs)))]


class TorchRunner:
    name = "torch"

    def __init__(self, device: str = "cpu"):
        self.device = device

    def run(self, artifact, inputs):
        import torch

        module = artifact.model.to(self.device).eval()
        tensors = [torch.from_numpy(np.ascontiguousarray(x)).to(self.device) for x in inputs]
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


def runner_for(fmt: str, device: str = "cpu", threads: int = 0) -> Runner:
    if fmt == "keras":
        return KerasRunner()
    if fmt == "onnx":
        return OnnxRuntimeRunner(device, threads)
    if fmt == "torch":
        return TorchRunner(device)
    if fmt == "savedmodel":
        return SavedModelRunner()
    if fmt == "keras-torch":
        return KerasTorchRunner(device, threads)
    raise RunError(f"no runner for artifacts of format {fmt!r}")
