"""onnx2tf transposes Col2Im's 3-D input (N, C*prod(block_shape), L) as if it were NCW, to
(N, L, C*prod(block_shape)), and then reads its second dimension as C*prod(block_shape), so the
reshape into blocks asks for the wrong number of elements and the conversion fails wherever L
differs from C*prod(block_shape): "Cannot reshape a tensor with 2 elements to shape [1,2,1,1,2]".

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (1, 1, 2)) -> Col2Im(image_shape [1, 2], block_shape [1, 1]) -> y (1, 1, 1, 2) at
opset 18 (onnxruntime: y = x), and the control x (1, 1, 1), image_shape [1, 1], converts it with
onnx2tf and runs the SavedModel. REPRODUCED: the case is refused with that reshape and the control
converts right; FIXED: the case converts and agrees with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import os
import re
import sys
import traceback

CANNOT_RUN = 3  # exit code: this machine cannot run the case (no verdict); 1 is REPRODUCED only


def cannot_run(what: str, exc: BaseException) -> int:
    """The one line of a case this machine cannot run, after the traceback (on stderr)."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    first = next((line for line in lines if line), "")
    print(f"CANNOT RUN: {what} ({type(exc).__name__}: {first[:240]}) (exit {CANNOT_RUN})",
          flush=True)
    return CANNOT_RUN


def _uncaught(kind, exc, tb):  # an exception the script did not expect: an import, most often
    if not issubclass(kind, Exception):
        return sys.__excepthook__(kind, exc, tb)
    cannot_run("importing the frameworks", exc)
    sys.stderr.flush()
    os._exit(CANNOT_RUN)


sys.excepthook = _uncaught  # Python exits 1 on an uncaught exception, and 1 says REPRODUCED

import contextlib  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx2tf  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-col2im-input-read-channels-last"


def model_of(nodes, inputs, outputs, initializers=(), opset=21):
    graph = helper.make_graph(nodes, "case", inputs, outputs, list(initializers))
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    return model


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def convert(model):
    """onnx2tf's output folder and None, or None and the text of its refusal (error and log)."""
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)  # onnx2tf overwrites its input with the simplified model
    out, log = os.path.join(folder, "out"), io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                            output_signaturedefs=True,
                            copy_onnx_input_output_names_to_tflite=True, non_verbose=True)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (some refusals call sys.exit(1))
        text = f"{type(exc).__name__}: {exc}\n{log.getvalue()}"
        return None, re.sub(r"\x1b\[[0-9;]*m", "", text)
    return out, None


def reference(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def savedmodel_outputs(out, feeds):
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


def finish(verdicts, reproduced, fixed):
    """The last line, from the verdicts of the cases."""
    if all(verdict == "REPRODUCED" for verdict in verdicts):
        print(f"REPRODUCED: known issue {KNOWN_ISSUE}: {reproduced} (exit 1)")
        sys.exit(1)
    if all(verdict == "FIXED" for verdict in verdicts):
        print(f"FIXED: known issue {KNOWN_ISSUE}: {fixed} (exit 0)")
        sys.exit(0)
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: verdicts {verdicts} (exit 2)")
    sys.exit(2)


F = TensorProto.FLOAT


def col2im(length, image):
    return model_of(
        [helper.make_node("Col2Im", ["x", "image", "block"], ["y"])],
        [helper.make_tensor_value_info("x", F, [1, 1, length])],
        [helper.make_tensor_value_info("y", F, [1, 1, *image])],
        [const("image", image), const("block", [1, 1])], opset=18)


verdict = judge("Col2Im x (1, 1, 2), image_shape [1, 2], block_shape [1, 1]",
                col2im(2, [1, 2]), col2im(1, [1, 1]),
                {"x": np.array([[[1.5, -2.0]]], np.float32)},
                {"x": np.array([[[1.5]]], np.float32)},
                r"Cannot reshape a tensor with 2 elements to shape \[1,2,1,1,2\]")
finish([verdict], "onnx2tf reads the transposed (1, 2, 1) input as 2 channels of 2 blocks",
       "Col2Im converts and agrees with onnxruntime")
