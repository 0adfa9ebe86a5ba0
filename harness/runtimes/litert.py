"""LiteRT (TensorFlow Lite): the runner of ``tflite`` artifacts, a float32 flatbuffer run by
``ai_edge_litert.interpreter.Interpreter`` (the ``litert`` extra) through its signature
runner, with the interpreter's default delegate (XNNPACK on the CPU), as an app runs it.

A ``tflite`` artifact says how its signature maps to the case (``meta``): ``signature`` (the
signature's key), ``tflite_inputs`` (the signature's input names in the case's input order)
and ``tflite_outputs`` (its output names in the source's output order), which the stage that
made it read from what the converter records, and, where the converter changes layouts
(onnx2tf), ``input_perms`` and ``output_perms``: each tensor's permutation into the model and
back out of it. The interpreter's own tensor order is not the
model's (it lists a two-input Keras model's inputs last first), and nothing is matched by
shape.
"""

from __future__ import annotations

import numpy as np

from harness.runtimes.registry import LoadError, RunError


def interpreter(model: bytes, threads: int = 0):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise RunError("the LiteRT interpreter is not installed: pip install "
                       "'parity[litert]' (ai-edge-litert)") from exc
    try:
        return Interpreter(model_content=bytes(model), num_threads=threads or None)
    except Exception as exc:
        raise LoadError(f"LiteRT cannot load the model: {type(exc).__name__}: {exc}") from exc


class LiteRtRunner:
    name = "litert"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads

    def run(self, artifact, inputs):
        meta = artifact.meta
        names, outputs = meta["tflite_inputs"], meta["tflite_outputs"]
        if len(names) != len(inputs):
            raise RunError(f"the TFLite signature takes {len(names)} inputs "
                           f"({', '.join(names)}), the case has {len(inputs)}")
        runner = interpreter(artifact.model, self.threads).get_signature_runner(
            meta["signature"])
        into = meta.get("input_perms") or [None] * len(inputs)
        found = runner(**{name: transposed(x, perm) for name, x, perm in zip(names, inputs, into)})
        back = meta.get("output_perms") or [None] * len(outputs)
        return [transposed(found[name], perm) for name, perm in zip(outputs, back)]


def transposed(array, perm) -> np.ndarray:
    """``array`` with its axes in ``perm``'s order (a layout the converter documents, as
    ``input_perms`` and ``output_perms`` in a ``tflite`` artifact's meta say), or as it is."""
    array = np.asarray(array)
    return array if perm is None else np.ascontiguousarray(np.transpose(array, perm))
