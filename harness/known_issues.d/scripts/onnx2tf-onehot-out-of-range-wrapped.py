"""onnx2tf wraps every OneHot index with floormod(index + depth, depth), so an index outside
[-depth, depth-1], which ONNX says gives a row of off_value only, gets on_value at the wrapped
position (index 7 with depth 6 lights position 1).

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
indices (int64, (3, 2)) -> OneHot(depth=6, values=[-1, 3], axis=2) at opset 21, feeds the
indices [[0, 2], [-3, 5], [6, -7]] (the last two out of range), converts it with onnx2tf and runs
the SavedModel's signature and the float32 TFLite file. The last line says REPRODUCED (exit 1:
both light the wrapped positions of the out-of-range indices and agree elsewhere), FIXED (exit 0:
both agree with onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-onehot-out-of-range-wrapped"

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


depth = 6
indices = np.array([[0, 2], [-3, 5], [6, -7]], np.int64)
graph = helper.make_graph(
    [helper.make_node("OneHot", ["indices", "depth", "values"], ["out"], axis=2)], "onehot",
    [helper.make_tensor_value_info("indices", TensorProto.INT64, [3, 2])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, [3, 2, depth])],
    [numpy_helper.from_array(np.array(depth, np.int32), "depth"),
     numpy_helper.from_array(np.array([-1, 3], np.float32), "values")])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
feeds = {"indices": indices}
expected = onnxruntime(model, feeds)
signature, tflite = convert(model, "onehot")
found = {"SavedModel": savedmodel(signature, feeds), "TFLite": litert(tflite, feeds)}
wrapped = np.where(np.arange(depth) == np.mod(indices, depth)[..., None], 3, -1).astype(np.float32)
print(f"indices      {indices.tolist()} (depth {depth})")
print(f"onnxruntime  {expected[2].tolist()}  (row of indices {indices[2].tolist()})")
for name, value in found.items():
    print(f"{name:12s} {value[2].tolist()}")
if all(np.array_equal(value, expected) for value in found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: both give off_value rows as onnxruntime does (exit 0)")
    sys.exit(0)
in_range = np.abs(indices) < depth  # here every in-range index is -depth < i < depth
if all(np.array_equal(value, wrapped) for value in found.values())         and all(np.array_equal(value[in_range], expected[in_range]) for value in found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: out-of-range indices 6 and -7 wrapped to "
          f"positions 0 and 5 where ONNX gives off_value only (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither ONNX's rows nor the wrapped ones (exit 2)")
sys.exit(2)
