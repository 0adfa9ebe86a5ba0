"""onnx2tf runs an ONNX NonZero on the channel-last tensor it keeps for a rank-3+ input (NCW as
NWC, NCHW as NHWC) and never puts the indices back in ONNX's axis order: the rows of the
result are the coordinates along onnx2tf's axes (N, W, C), in the order of that layout.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds x (float32,
(1, 2, 3)) -> NonZero -> y at opset 13, converts it with onnx2tf, and runs the SavedModel's
signature on x in the channel-last layout onnx2tf declares ((1, 3, 2), x transposed (0, 2, 1)).
The TFLite file is not run: its NonZero needs the Select TF ops runtime. The last line says
REPRODUCED (exit 1: the indices are NonZero of the channel-last tensor), FIXED (exit 0: the
indices equal onnxruntime's), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import os
import re
import sys
import tempfile
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

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx2tf  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-nonzero-channel-last-indices"

def convert(model, name):
    """onnx2tf as its users run it: the SavedModel signature and the float32 TFLite runner."""
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, f"{name}.onnx")
    onnx.save(model, path)
    out = os.path.join(folder, "out")
    onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out, output_signaturedefs=True,
                    copy_onnx_input_output_names_to_tflite=True, non_verbose=True)
    signature = tf.saved_model.load(out).signatures["serving_default"]
    tflite = [n for n in os.listdir(out) if n.endswith("_float32.tflite")][0]
    return signature, os.path.join(out, tflite)


def onnxruntime(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def savedmodel(signature, feeds):
    return list(signature(**{k: tf.constant(v) for k, v in feeds.items()}).values())[0].numpy()


def litert(tflite, feeds):
    runner = Interpreter(model_path=tflite).get_signature_runner()
    return list(runner(**feeds).values())[0]


x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3)
x[0, 0, 1] = 0
graph = helper.make_graph(
    [helper.make_node("NonZero", ["x"], ["y"])], "nonzero",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])],
    [helper.make_tensor_value_info("y", TensorProto.INT64, [3, None])])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13)])
expected = onnxruntime(model, {"x": x})
signature, _ = convert(model, "nonzero")
channel_last = np.ascontiguousarray(x.transpose(0, 2, 1))
found = savedmodel(signature, {"x": channel_last}).astype(np.int64)
print(f"x            {x.tolist()} (fed as {channel_last.tolist()}, shape (1, 3, 2))")
print(f"onnxruntime  {expected.tolist()}")
print(f"SavedModel   {found.tolist()}")
if np.array_equal(found, expected):
    print(f"FIXED: known issue {KNOWN_ISSUE}: the indices equal onnxruntime's (exit 0)")
    sys.exit(0)
if np.array_equal(found, np.stack(np.nonzero(channel_last))):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: the indices of the channel-last tensor, "
          f"not of the ONNX one (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither ONNX's indices nor the channel-last ones "
      f"(exit 2)")
sys.exit(2)
