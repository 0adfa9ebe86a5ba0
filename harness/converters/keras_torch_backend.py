"""keras → keras-torch: the same model run by Keras on its PyTorch backend.

The stage saves the model as a ``.keras`` file and has a persistent worker process
(``python -m harness.sources.keras.torch_worker`` with ``KERAS_BACKEND=torch``) load it; the
``keras-torch`` runner asks the worker to run it and reads its outputs back. The leg
``keras>keras-torch`` therefore compares Keras on PyTorch with Keras on TensorFlow (the
reference), with no conversion in between: a difference is a difference between Keras'
backends.

Every request that loads a model carries what this process imported for the user
(``harness.core.plugins.setup()``: the ``--plugins`` modules, the ``--custom-objects`` specs
and the folders they came from), and the worker repeats it before it loads, so a custom
Keras layer registered here is registered there too, whenever it was imported.

One worker serves every case of a process (its start, importing torch and Keras, costs
seconds); a worker that died is restarted on the next request; a request that takes longer
than ``PARITY_KERAS_TORCH_TIMEOUT`` seconds (default 120) kills the worker and raises
``KerasTorchTimeout``.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    NotApplicable,
    TransientFailure,
)
from harness.converters.saved_formats import SavedFiles, save_in_workdir
from harness.core import plugins
from harness.core.stages import stage
from harness.runtimes.worker import WorkerProcess

DEFAULT_TIMEOUT = 120.0
STARTUP_TIMEOUT = 300.0  # importing torch and Keras on a loaded machine


class KerasTorchError(RuntimeError):
    """Keras on the PyTorch backend raised; carries the worker's exception."""


class KerasTorchWorkerFailure(KerasTorchError, TransientFailure):
    """The worker, not Keras, failed: it timed out, died or answered out of turn."""


class KerasTorchTimeout(KerasTorchWorkerFailure):
    """The worker did not answer in time and was killed."""


class KerasTorchWorkerDied(KerasTorchWorkerFailure):
    """The worker exited while a request was in flight."""


def _timeout() -> float:
    return float(os.environ.get("PARITY_KERAS_TORCH_TIMEOUT", DEFAULT_TIMEOUT))


class KerasTorchWorker:
    """A client for one persistent worker process; starts it on first use."""

    def __init__(self, device: str = "cpu", threads: int = 0,
                 timeout: float | None = None, startup_timeout: float = STARTUP_TIMEOUT):
        self.device = device
        self.threads = threads
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        env = {**os.environ, "KERAS_BACKEND": "torch", "KERAS_TORCH_DEVICE": device,
               "PARITY_KERAS_TORCH_THREADS": str(threads)}
        if device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
        self._worker = WorkerProcess("harness.sources.keras.torch_worker", env=env)
        self.info: dict = {}
        self._next_id = 0
        self._scratch = tempfile.TemporaryDirectory(prefix="parity-keras-torch-")

    # -- process management -----------------------------------------------------------------
    @property
    def process(self):
        """The worker's ``subprocess.Popen``; None before the first start and after ``close``."""
        return self._worker.process

    @property
    def starts(self) -> int:
        return self._worker.starts

    def alive(self) -> bool:
        return self._worker.alive()

    def start(self) -> None:
        self._worker.start()
        reply = self._read(self.startup_timeout, "starting")
        if not reply.get("ready"):
            self.close()
            raise KerasTorchError(f"the keras-torch worker failed to start: {reply}")
        self.info = reply

    def close(self) -> None:
        self._worker.close(goodbye={"op": "exit"}, grace_s=5)

    def kill(self) -> None:
        self._worker.kill()

    def log_tail(self, chars: int = 2000) -> str:
        return self._worker.tail()[-chars:].strip()

    # -- the protocol -----------------------------------------------------------------------
    def _read(self, timeout: float, doing: str) -> dict:
        try:
            reply = self._worker.receive(time.monotonic() + timeout)
        except TimeoutError:
            pid = self._worker.pid
            self.kill()
            raise KerasTorchTimeout(
                f"the keras-torch worker (pid {pid}) did not answer within {timeout:g} s "
                f"while {doing}; killed it (the next request starts a fresh worker; "
                f"PARITY_KERAS_TORCH_TIMEOUT sets the limit)") from None
        if reply is None:
            how = self._worker.exit_text()
            tail = self.log_tail()
            raise KerasTorchWorkerDied(
                f"the keras-torch worker {how} while {doing}"
                + (f"; its last words:\n{tail}" if tail else ""))
        return reply

    def request(self, op: str, doing: str, **fields) -> dict:
        if not self.alive():
            self.start()
        self._next_id += 1
        message = {"op": op, "id": self._next_id, **fields}
        try:
            self._worker.send(message)
        except OSError:
            self.start()  # died between requests: one fresh try
            self._worker.send(message)
        reply = self._read(self.timeout or _timeout(), doing)
        if reply.get("id") != message["id"]:
            self.kill()
            raise KerasTorchWorkerFailure(f"the keras-torch worker answered request {reply.get('id')} "
                                  f"to request {message['id']}; killed it")
        if not reply.get("ok"):
            raise KerasTorchError(f"Keras (torch backend) raised {reply.get('type')}: "
                                  f"{reply.get('error')}\n{reply.get('traceback', '')}".strip())
        return reply

    def load(self, model_path: str | Path) -> None:
        self.request("load", f"loading {model_path}", model=str(model_path),
                     setup=plugins.setup())

    def run(self, model, inputs: list[np.ndarray]) -> list[np.ndarray]:
        model_path = str(Path(model))
        with tempfile.TemporaryDirectory(dir=self._scratch.name) as tmp:
            inputs_path = Path(tmp) / "inputs.npz"
            outputs_path = Path(tmp) / "outputs.npz"
            np.savez(inputs_path, **{f"input_{i}": np.ascontiguousarray(x)
                                     for i, x in enumerate(inputs)})
            reply = self.request("run", f"running {model_path}", model=model_path,
                                 inputs=str(inputs_path), outputs=str(outputs_path),
                                 setup=plugins.setup())
            with np.load(outputs_path, allow_pickle=False) as data:
                return [np.array(data[f"output_{i}"]) for i in range(reply["outputs"])]


_WORKERS: dict[str, KerasTorchWorker] = {}


def worker(device: str = "cpu", threads: int = 0) -> KerasTorchWorker:
    """The process' worker for ``device`` (started on first use, restarted if it died);
    ``threads`` (torch's intra-op threads, 0 for torch's default) applies when it is made."""
    if device not in _WORKERS:
        _WORKERS[device] = KerasTorchWorker(device, threads)
    return _WORKERS[device]


@atexit.register
def shutdown() -> None:
    for client in _WORKERS.values():
        client.close()
    _WORKERS.clear()


class KerasTorchRunner:
    """A ``.keras`` file run by Keras on its PyTorch backend, in a persistent worker process
    (Keras fixes its backend per process). The runner registry names it by
    ``"harness.converters.keras_torch_backend:KerasTorchRunner"``."""

    name = "keras-torch"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads

    def run(self, artifact, inputs):
        return worker(self.device, self.threads).run(artifact.model, inputs)


@stage("keras-torch", "keras", "keras-torch", packages=("keras", "torch"))
class KerasTorchConverter:
    """keras → keras-torch: a ``.keras`` file, loaded by Keras on its PyTorch backend."""

    def _loader(self) -> KerasTorchWorker:
        # Converters are device-blind: the model is loaded once by a worker already running
        # (the runner's), else by the CPU one, so that a file the backend refuses fails in
        # this stage rather than in the runner.
        return next(iter(_WORKERS.values()), None) or worker("cpu")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        strings = [getattr(t, "name", "?") for t in getattr(artifact.model, "inputs", None) or []
                   if str(getattr(t.dtype, "name", t.dtype)) == "string"]
        if strings:
            raise NotApplicable(f"input {strings[0]!r} takes strings, and PyTorch has no string "
                                f"tensors: a Keras model with string inputs runs on the "
                                f"TensorFlow backend only")
        path, owner = save_in_workdir(options, "parity-keras-torch-", "model.keras",
                                      artifact.model.save, "Keras cannot save this model")
        try:
            self._loader().load(path)
        except KerasTorchError as exc:
            raise ConversionError(f"{path}: Keras on the torch backend cannot load it: "
                                  f"{exc}") from exc
        return Artifact("keras-torch", SavedFiles(path, owner), list(artifact.input_names))
