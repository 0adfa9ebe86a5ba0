"""onnx2tf converts every ONNX ScatterND to tf.tensor_scatter_nd_update and never reads its
reduction attribute (opset 16+), so reduction="add" (or "mul", "max", "min") overwrites the
indexed rows with the updates instead of combining them with the data.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
data (int32, (4, 3)), updates (int32, (2, 3)) and the constant indices [[1], [3]] (no duplicates)
-> ScatterND(reduction="add") at opset 18, converts it with onnx2tf, and runs the SavedModel's
signature and the float32 TFLite file. The last line says REPRODUCED (exit 1: both give the
updates where onnxruntime gives data + updates), FIXED (exit 0: both agree with onnxruntime),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-scatternd-reduction-ignored"

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


data = np.arange(12, dtype=np.int32).reshape(4, 3)
updates = np.full((2, 3), 10, np.int32)
indices = np.array([[1], [3]], np.int64)
graph = helper.make_graph(
    [helper.make_node("ScatterND", ["data", "indices", "updates"], ["out"], reduction="add")],
    "scatternd_add",
    [helper.make_tensor_value_info("data", TensorProto.INT32, [4, 3]),
     helper.make_tensor_value_info("updates", TensorProto.INT32, [2, 3])],
    [helper.make_tensor_value_info("out", TensorProto.INT32, [4, 3])],
    [numpy_helper.from_array(indices, "indices")])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 18)])
feeds = {"data": data, "updates": updates}
expected = onnxruntime(model, feeds)
signature, tflite = convert(model, "scatternd_add")
found = {"SavedModel": savedmodel(signature, feeds), "TFLite": litert(tflite, feeds)}
print(f"onnxruntime  {expected.tolist()}")
for name, value in found.items():
    print(f"{name:12s} {value.tolist()}")
overwritten = data.copy()
overwritten[indices[:, 0]] = updates
if all(np.array_equal(value, expected) for value in found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: both add the updates as onnxruntime does (exit 0)")
    sys.exit(0)
if all(np.array_equal(value, overwritten) for value in found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: reduction=\"add\" ignored, the rows are "
          f"overwritten (row 1: {found['SavedModel'][1].tolist()} where onnxruntime gives "
          f"{expected[1].tolist()}) (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither the sum nor the overwrite (exit 2)")
sys.exit(2)
