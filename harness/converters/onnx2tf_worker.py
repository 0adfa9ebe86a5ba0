"""The worker process of the onnx2tf stages: onnx2tf, imported from its own folder.

``harness.converters.onnx2tf_stage`` starts it with the folder ``parity install onnx2tf``
wrote on its ``PYTHONPATH`` (``harness.converters.onnx2tf_install``), so onnx2tf, its
pieces and its side effects (TensorFlow settings, printing, files written to the working
folder) stay out of the harness' process. It runs in a scratch folder of its own: onnx2tf
reads a calibration image set from ``calibration_image_sample_data_20x128x128x3_float32.npy``
in the working folder when every input is a small 3-channel image, and downloads it from
GitHub where the file is absent; the worker writes one there first (seeded uniform [0, 1)
values, made here: nothing is fetched).

Protocol (``harness.runtimes.worker``), one JSON object a line:

    {"op": "convert", "id": 1, "onnx": "/tmp/.../model.onnx", "out": "/tmp/.../out"}
    reply {"id": 1, "ok": true, "inputs": [[name, shape], ...], "outputs": [shape, ...],
           "layouts": {onnx_output_name: bool}, "files": [...]}
      or  {"id": 1, "ok": false, "error": "...", "type": "...", "log": "last lines"}

``onnx2tf.convert`` rewrites its input file in place (onnxsim's output), so the parent sends
a copy. It is called as its command line runs it, plus the two switches that record the
names a reader maps by: ``output_signaturedefs`` (the SavedModel's ``serving_default``
signature) and ``copy_onnx_input_output_names_to_tflite``. The latter rewrites the TFLite
file's tensor names with the ``flatc`` command, and does nothing (with a warning) where flatc
is absent, as here: the TFLite signature's names are then those onnx2tf gives its Keras
inputs and outputs, which it names after the ONNX ones (docs/rewriters.md#onnx2tf).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import traceback

import numpy as np

from harness.converters import onnxsim_zygote
from harness.core import collector, skeleton
from harness.runtimes.worker import Channel

CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
# the switches the standalone scripts call it with too (harness/known_issues.d/skeleton/)
CONVERT_SWITCHES = skeleton.constant("onnx2tf", "CONVERT_SWITCHES")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_LINES = 25


def calibration_images():
    return np.random.default_rng(20261124).random((20, 128, 128, 3), dtype=np.float32)


def shape(tensor) -> list | None:
    """The tensor's declared dims (None for an unknown one), None where its rank is unknown."""
    dims = tensor.shape  # a TensorShape (tf_keras), or a tuple (Keras 3)
    if getattr(dims, "rank", 0) is None:
        return None
    return [None if d is None else int(d) for d in dims]


def convert(onnx2tf, onnx_path: str, out: str) -> dict:
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            model = onnx2tf.convert(input_onnx_file_path=onnx_path, output_folder_path=out,
                                    **CONVERT_SWITCHES)
    except SystemExit as exc:  # onnx2tf ends with sys.exit(1) on an error it printed
        return failure(printed, "SystemExit", f"onnx2tf exited with status {exc.code}")
    except Exception as exc:  # noqa: BLE001  (its failure, reported to the parent)
        return failure(printed, type(exc).__name__, f"{type(exc).__name__}: {exc}",
                       traceback.format_exc())
    if model is None:
        return failure(printed, "None", "onnx2tf.convert returned no model")
    return {"ok": True,
            "inputs": [[tensor.name, shape(tensor)] for tensor in model.inputs],
            "outputs": [shape(tensor) for tensor in model.outputs],
            "layouts": dict(getattr(model, "onnx_output_layouts", None) or {}),
            "files": sorted(os.listdir(out))}


def failure(printed: io.StringIO, kind: str, error: str, trace: str = "") -> dict:
    lines = [line for line in ANSI.sub("", printed.getvalue()).splitlines() if line.strip()]
    return {"ok": False, "type": kind, "error": error, "log": "\n".join(lines[-LOG_LINES:]),
            "traceback": trace}


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with contextlib.suppress(ValueError):  # a bad value is the pytest process' to name
        collector.tune_for_cases()
    channel = Channel.open(argv)
    scratch = tempfile.mkdtemp(prefix="parity-onnx2tf-")
    try:
        return serve(channel, scratch)
    finally:
        # Where the parent had to kill the worker, the scratch folder goes with the
        # temporary folder the parent gave it (harness.runtimes.worker).
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(scratch, ignore_errors=True)


def serve(channel: Channel, scratch: str) -> int:
    """Answers the parent's requests from the scratch folder until it says exit or goes."""
    os.chdir(scratch)
    np.save(CALIBRATION_FILE, calibration_images())
    # onnx2tf's onnxsim passes, without onnxsim's import; its folder goes with the scratch
    # folder, also where the worker is killed
    zygote = onnxsim_zygote.start(within=scratch)
    if zygote is not None:
        os.environ["PATH"] = os.pathsep.join([str(zygote.bin), os.environ.get("PATH", "")])
    try:
        try:
            import onnx2tf
        except Exception as exc:  # noqa: BLE001  (named to the parent)
            channel.send({"ready": False, "scratch": scratch, "error": f"cannot import "
                                                   f"onnx2tf: {type(exc).__name__}: {exc}"})
            return 1
        channel.send({"ready": True, "pid": os.getpid(), "scratch": scratch,
                      "onnx2tf": getattr(onnx2tf, "__version__", "?"),
                      "onnx2tf_file": onnx2tf.__file__})
        for request in channel:
            if request.get("op") == "exit":
                break
            if request.get("op") == "convert":
                reply = convert(onnx2tf, request["onnx"], request["out"])
            else:
                reply = {"ok": False, "type": "ValueError", "error": f"unknown op {request!r}"}
            channel.send({"id": request.get("id"), **reply})
    finally:
        # before main removes the scratch folder, which holds the zygote's
        if zygote is not None:
            zygote.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
