"""The worker process of the ``keras-torch`` stage: Keras on its PyTorch backend.

Keras fixes its backend once per process, and TensorFlow and torch in one process are
fragile, so the harness runs Keras-on-torch here, in a persistent child process started by
``harness.converters.keras_torch_backend``. Nothing untrusted is unpickled: requests and
replies are JSON lines, models travel as ``.keras`` files (loaded with ``safe_mode=True``)
and arrays as ``.npz`` files (read with ``allow_pickle=False``).

Protocol, one JSON object a line on stdin, one reply a line on the protocol stream:

    {"op": "load", "id": 1, "model": "/tmp/.../model.keras"}
    {"op": "run", "id": 2, "model": "...", "inputs": "in.npz", "outputs": "out.npz"}
    {"op": "ping", "id": 3}

    reply {"id": N, "ok": true, ...} or {"id": N, "ok": false, "error": "...",
           "type": "ValueError", "traceback": "..."}

On start the worker answers {"ready": true, ...} once its imports are done. Anything the
frameworks print goes to stderr, never into the protocol stream.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _protocol_stream():
    """The original stdout for replies; fd 1 then points at stderr, for stray prints."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def main() -> int:
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    replies = _protocol_stream()
    import numpy as np
    import torch

    threads = int(os.environ.get("PARITY_KERAS_TORCH_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    import keras

    from harness.layers._base import register_custom_objects

    register_custom_objects()
    if keras.backend.backend() != "torch":
        replies.write(json.dumps({"ready": False,
                                  "error": f"Keras chose backend {keras.backend.backend()!r}"}))
        replies.write("\n")
        return 1
    replies.write(json.dumps({
        "ready": True, "pid": os.getpid(), "keras": keras.__version__,
        "torch": torch.__version__, "backend": keras.backend.backend(),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }) + "\n")

    loaded: dict[str, object] = {}  # the last model loaded, by path

    def model_at(path: str):
        if path not in loaded:
            loaded.clear()
            loaded[path] = keras.saving.load_model(path, compile=False, safe_mode=True)
        return loaded[path]

    for line in sys.stdin:
        if not line.strip():
            continue
        request: dict = {}
        try:
            request = json.loads(line)
            op = request.get("op")
            reply: dict = {"id": request.get("id"), "ok": True}
            if op == "ping":
                pass
            elif op == "load":
                model_at(request["model"])
            elif op == "run":
                model = model_at(request["model"])
                with np.load(request["inputs"], allow_pickle=False) as data:
                    inputs = [data[f"input_{i}"] for i in range(len(data.files))]
                outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
                if not isinstance(outputs, (list, tuple)):
                    outputs = [outputs]
                arrays = [np.asarray(keras.ops.convert_to_numpy(o)) for o in outputs]
                np.savez(request["outputs"], **{f"output_{i}": a for i, a in enumerate(arrays)})
                reply["outputs"] = len(arrays)
            elif op == "exit":
                replies.write(json.dumps(reply) + "\n")
                return 0
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:
            reply = {"id": request.get("id"), "ok": False, "type": type(exc).__name__,
                     "error": str(exc)[:4000],
                     "traceback": "".join(traceback.format_exception(exc, limit=-8))[-4000:]}
        replies.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
