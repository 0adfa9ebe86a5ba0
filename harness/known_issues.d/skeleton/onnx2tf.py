"""onnx2tf as its users run it, and readings of what it writes: the SavedModel's
serving_default signature (TensorFlow) and the float32 TFLite file (LiteRT)."""

import contextlib
import io
import os
import re
import tempfile

import numpy as np
import onnx
import onnx2tf
import tensorflow as tf
from skeleton.litert import run_tflite
from skeleton.ort import reference, run_ort

# onnx2tf.convert's switches as parity's stage calls it (its worker, harness.converters.
# onnx2tf_worker, and the generated scripts take them from here): its command line's defaults
# plus the two that keep the names a reader maps by.
CONVERT_SWITCHES = {"output_signaturedefs": True, "copy_onnx_input_output_names_to_tflite": True,
                    "non_verbose": True}


def onnx2tf_run(model):
    """onnx2tf.convert on a copy of the model (it overwrites its input with the simplified
    model): its output folder, the exception it raised (or None) and its log."""
    folder = tempfile.mkdtemp(prefix="onnx2tf-case-")
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)
    out, log = os.path.join(folder, "out"), io.StringIO()
    try:
        with contextlib.redirect_stdout(log):  # onnx2tf prints its log there
            onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                            **CONVERT_SWITCHES)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (some refusals call sys.exit(1))
        return out, exc, log.getvalue()
    return out, None, log.getvalue()


def tflite_file(out):
    return os.path.join(out, "model_float32.tflite")


def convert(model):
    """onnx2tf's output folder and None, or None and the text of its refusal (error and log)."""
    out, exc, log = onnx2tf_run(model)
    if exc is None:
        return out, None
    return None, re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}\n{log}")


def convert_to_tflite(model):
    """The path of onnx2tf's float32 TFLite file of the model, or the exception it raised."""
    out, exc, _ = onnx2tf_run(model)
    return exc if exc is not None else tflite_file(out)


def convert_signature(model):
    """The SavedModel's serving_default signature and the float32 TFLite file's path; what
    onnx2tf raises is raised."""
    out, exc, _ = onnx2tf_run(model)
    if exc is not None:
        raise exc
    return tf.saved_model.load(out).signatures["serving_default"], tflite_file(out)


def savedmodel(signature, feeds):
    """The signature's first output."""
    return list(signature(**{k: tf.constant(v) for k, v in feeds.items()}).values())[0].numpy()


def savedmodel_outputs(out, feeds):
    """The SavedModel's outputs, in the order of their names; an input of rank 3 or more
    whose shape the signature does not take is fed channels-last, as onnx2tf expects."""
    signature = tf.saved_model.load(out).signatures["serving_default"]
    specs, args = signature.structured_input_signature[1], {}
    for name, value in feeds.items():
        if value.ndim >= 3 and list(specs[name].shape) != list(value.shape):
            value = np.moveaxis(value, 1, -1)  # onnx2tf's signature takes channels-last inputs
        args[name] = tf.constant(value)
    result = signature(**args)
    return [result[key].numpy() for key in sorted(result)]


def agrees(found, expected):
    """Equal within 1e-4, in the ONNX layout or in onnx2tf's channels-last one."""
    if found.shape != expected.shape and found.ndim >= 3:
        found = np.moveaxis(found, -1, 1)
    return found.shape == expected.shape and np.allclose(found, expected, atol=1e-4)


def tflite_agrees(model, path, feeds):
    """onnx2tf's TFLite file gives onnxruntime's outputs (names, dtypes aside, and values)."""
    want, got = run_ort(model, feeds), run_tflite(path, feeds)
    return set(want) == set(got) and all(
        np.asarray(got[name]).shape == want[name].shape
        and np.allclose(np.asarray(got[name]), want[name]) for name in want)


def failed(found, kind, text):
    """convert_to_tflite's result is an exception of that kind, saying that text."""
    return isinstance(found, kind) and text in str(found)


def said(found):
    """convert_to_tflite's result in one line."""
    if isinstance(found, BaseException):
        first = next((line for line in str(found).splitlines() if line.strip()), "")
        return f"{type(found).__name__}: {first[:200]}"
    return "converted"


def judge(name, case, control, feeds, control_feeds, refusal):
    """REPRODUCED where onnx2tf refuses case with refusal and converts control right; FIXED where
    it converts case and its SavedModel agrees with onnxruntime; else DIFFERENT."""
    expected = reference(case, feeds)
    print(f"{name}: onnxruntime gives {[a.ravel().tolist() for a in expected]}")
    out, error = convert(control)
    control_right = error is None and all(
        agrees(found, wanted) for found, wanted in
        zip(savedmodel_outputs(out, control_feeds), reference(control, control_feeds)))
    print(f"{name}: the control converts and agrees with onnxruntime: {control_right}")
    out, error = convert(case)
    if error is None:
        found = savedmodel_outputs(out, feeds)
        print(f"{name}: onnx2tf converts it; its SavedModel gives "
              f"{[a.ravel().tolist() for a in found]}")
        right = len(found) == len(expected) and all(map(agrees, found, expected))
        return "FIXED" if right else "DIFFERENT"
    match = re.search(refusal, error)
    first = match.group(0) if match else error.splitlines()[0][:240]
    print(f"{name}: onnx2tf refuses it: {first}")
    return "REPRODUCED" if match and control_right else "DIFFERENT"
