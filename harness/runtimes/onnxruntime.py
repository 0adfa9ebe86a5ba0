"""onnxruntime: the runner of ONNX artifacts and its graph optimisation levels."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from harness.runtimes import device as device_context
from harness.runtimes.registry import LoadError, MachineLacks, RunError

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

# onnxruntime's message carries its source file and the C++ signature of the check that
# failed: neither says what the model did wrong.
ORT_SOURCE_PATH = re.compile(r"\s*/onnxruntime_src/\S+:\d+\s*")
CPP_SIGNATURE = re.compile(r"(?:(?:\w+::)+\w+ )?(?:\w+::)+\w+\([^()]*\)\s*")


def runtime_failure(exc: BaseException) -> str:
    """A run-time failure's first line (onnxruntime's, without its source path and the C++
    signature of the check that failed; another framework's as it is)."""
    lines = str(exc).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else type(exc).__name__
    text = CPP_SIGNATURE.sub("", ORT_SOURCE_PATH.sub(" ", text)).strip()
    return text[:400]


MISSING_LOCALE = re.compile(r"Failed to construct locale with name:\s*([\w.@-]+)")


def missing_locale(text: str) -> str | None:
    """Why onnxruntime cannot load a model on this machine where the system lacks the locale
    its StringNormalizer lowercases or uppercases by (``en_US.UTF-8`` on Linux, unless the
    node names another: a machine with only the C locales, as a slim container image has, fails
    every such model, a scikit-learn text pipeline included); None for any other error."""
    found = MISSING_LOCALE.search(text)
    if found is None:
        return None
    name = found.group(1)
    return (f"its StringNormalizer needs the system locale {name}, which this machine lacks "
            f"(onnxruntime requires it: on Debian or Ubuntu, apt-get install locales, then "
            f"locale-gen {name}); the model is not at fault")


def missing_kernel(exc: BaseException) -> dict[str, str] | None:
    """onnxruntime's own limit on its installed release: it has no kernel for an op in these
    types or at this opset ("NOT_IMPLEMENTED : Could not find an implementation for
    Where(16)", onnxruntime 1.30 with int8): {runtime, version, message}; None for any
    other error."""
    text = str(exc)
    if "NOT_IMPLEMENTED" not in text or "Could not find an implementation" not in text:
        return None
    import onnxruntime as ort

    return {"runtime": "onnxruntime", "version": ort.__version__,
            "message": text.split("NOT_IMPLEMENTED :", 1)[-1].strip()[:600]}


def default_threads() -> int:
    """The intra-op threads of a session its caller did not size (0): ``OMP_NUM_THREADS``
    where set, as a pytest-xdist worker sets it to 1 for TensorFlow and torch too, else 0
    (onnxruntime's own default, a thread per core). A session of a pool of several threads
    costs a thread start per session and its spinning threads' CPU: on two busy cores, 3 ms
    of CPU against 0.25 ms for a small Conv's session and run."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device
        self.threads = threads or default_threads()

    def providers(self) -> list:
        """On CUDA, onnxruntime's CUDA provider where this onnxruntime has it (onnxruntime-gpu),
        at the process' precision (TF32 off unless --parity-tf32); else the CPU's."""
        import onnxruntime as ort

        if self.device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            return [("CUDAExecutionProvider", device_context.onnxruntime_cuda_options()),
                    "CPUExecutionProvider"]
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
            why = missing_locale(str(exc))
            if why:
                raise MachineLacks(why) from exc
            raise LoadError(f"onnxruntime cannot load the model: {type(exc).__name__}: "
                            f"{exc}") from exc
        names = [i.name for i in session.get_inputs()]
        if len(names) != len(inputs):
            raise RunError(f"the ONNX model takes {len(names)} inputs, the case has {len(inputs)}")
        return [as_output(o) for o in session.run(None, dict(zip(names, inputs)))]


def as_output(value: Any) -> Any:
    """An output as onnxruntime hands it over: a tensor as an array (a string tensor as an
    object array of str), an ONNX sequence as a list and a map as a dict (ZipMap's output: a
    list of dicts), their elements likewise; ``harness.core.compare`` compares each kind."""
    if isinstance(value, dict):
        return {key: as_output(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_output(item) for item in value]
    if isinstance(value, (int, float, str, bytes)):
        return value  # a map's value
    return np.asarray(value)


def optimization_of(artifact: Any) -> str:
    """The onnxruntime optimisation level an ONNX artifact is read with."""
    return artifact.meta.get("ort_optimization", DEFAULT_OPTIMIZATION)
