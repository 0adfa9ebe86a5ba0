"""The worker process of the ``keras-torch`` stage: Keras on its PyTorch backend.

Keras fixes its backend once per process, and TensorFlow and torch in one process are
fragile, so the harness runs Keras-on-torch here, in a persistent child process started by
``harness.converters.keras_torch_backend``. Nothing untrusted is unpickled: requests and
replies are JSON lines, models travel as ``.keras`` files (loaded with ``safe_mode=True``)
and arrays as ``.npz`` files (read with ``allow_pickle=False``).

Protocol (``harness.runtimes.worker``): one JSON object a line in, one reply a line out, on the two
pipes named by the arguments (``python -m harness.sources.keras.torch_worker READ_FD WRITE_FD``):

    {"op": "load", "id": 1, "model": "/tmp/.../model.keras", "setup": {...}}
    {"op": "run", "id": 2, "model": "...", "inputs": "in.npz", "outputs": "out.npz",
     "setup": {...}}
    {"op": "ping", "id": 3}

``setup`` is the parent's ``harness.core.plugins.setup()``: the user's plugin modules and
custom-object specs, imported and registered here before a model is loaded. A module that
fails here is named in the error of a load that then fails, not before: a plugin that
registers a converter, not a Keras class, may not import under the torch backend.

    reply {"id": N, "ok": true, ...} or {"id": N, "ok": false, "error": "...",
           "type": "ValueError", "traceback": "..."}

On start the worker answers {"ready": true, ...} once its imports are done. Anything the
frameworks print goes to stdout and stderr, never into the protocol pipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

import numpy as np

from harness.core import collector
from harness.core.plugins import apply_setup
from harness.runtimes.keras import keras_inputs
from harness.runtimes.keras_custom import register_custom_objects
from harness.runtimes.worker import Channel


def main(argv: list[str]) -> int:
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with contextlib.suppress(ValueError):  # a bad value is the pytest process' to name
        collector.tune_for_cases()
    channel = Channel.open(argv)
    import torch

    threads = int(os.environ.get("PARITY_KERAS_TORCH_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    import keras

    register_custom_objects()
    if keras.backend.backend() != "torch":
        channel.send({"ready": False, "error": f"Keras chose backend {keras.backend.backend()!r}"})
        return 1
    channel.send({
        "ready": True, "pid": os.getpid(), "keras": keras.__version__,
        "torch": torch.__version__, "backend": keras.backend.backend(),
        "tensorflow_imported": "tensorflow" in sys.modules,
    })

    loaded: dict[str, object] = {}  # the last model loaded, by path

    def model_at(path: str, setup: dict | None):
        if path not in loaded:
            loaded.clear()
            problems = apply_setup(setup, strict=False)
            register_custom_objects()
            try:
                loaded[path] = keras.saving.load_model(path, compile=False, safe_mode=True)
            except Exception as exc:
                if not problems:
                    raise
                raise RuntimeError(f"{type(exc).__name__}: {exc} (in this worker: "
                                   f"{'; '.join(problems)})") from exc
        return loaded[path]

    for request in channel:
        try:
            op = request.get("op")
            reply: dict = {"id": request.get("id"), "ok": True}
            if op == "ping":
                pass
            elif op == "load":
                model_at(request["model"], request.get("setup"))
            elif op == "run":
                model = model_at(request["model"], request.get("setup"))
                with np.load(request["inputs"], allow_pickle=False) as data:
                    inputs = [data[f"input_{i}"] for i in range(len(data.files))]
                outputs = model(keras_inputs(model, inputs), training=False)
                if isinstance(outputs, dict):  # named outputs, in sorted key order as on TF
                    outputs = [outputs[key] for key in sorted(outputs)]
                elif not isinstance(outputs, (list, tuple)):
                    outputs = [outputs]
                arrays = [np.asarray(keras.ops.convert_to_numpy(o)) for o in outputs]
                np.savez(request["outputs"], **{f"output_{i}": a for i, a in enumerate(arrays)})
                reply["outputs"] = len(arrays)
            elif op == "exit":
                channel.send(reply)
                return 0
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:
            reply = {"id": request.get("id"), "ok": False, "type": type(exc).__name__,
                     "error": str(exc)[:4000],
                     "traceback": "".join(traceback.format_exception(exc, limit=-8))[-4000:]}
        channel.send(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
