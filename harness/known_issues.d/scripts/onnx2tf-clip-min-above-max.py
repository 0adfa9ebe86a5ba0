"""onnx2tf converts an ONNX Clip with both bounds to tf.clip_by_value, which gives min where min
is greater than max; ONNX says such a Clip sets every value to max (onnxruntime does).

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (2, 3)) -> Clip(min=3, max=1, constant inputs) at opset 19, and for contrast the
same with min=1, max=3, converts each with onnx2tf, and runs the SavedModel's signature and the
float32 TFLite file. The last line says REPRODUCED (exit 1: both give min everywhere where
onnxruntime gives max, and the ordinary bounds are right), FIXED (exit 0: both agree with
onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-clip-min-above-max"
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


def case(low, high):
    graph = helper.make_graph(
        [helper.make_node("Clip", ["x", "low", "high"], ["y"])], "clip",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.array(low, np.float32), "low"),
         numpy_helper.from_array(np.array(high, np.float32), "high")])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 19)])
    feeds = {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}
    expected = onnxruntime(model, feeds)
    signature, tflite = convert(model, "clip")
    found = {"SavedModel": savedmodel(signature, feeds), "TFLite": litert(tflite, feeds)}
    print(f"Clip(min={low}, max={high}) of {feeds['x'].ravel().tolist()}")
    print(f"  onnxruntime  {expected.ravel().tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value.ravel().tolist()}")
    return expected, found


inverted, inverted_found = case(3.0, 1.0)
ordinary, ordinary_found = case(1.0, 3.0)
ordinary_ok = all(np.array_equal(v, ordinary) for v in ordinary_found.values())
if ordinary_ok and all(np.array_equal(v, inverted) for v in inverted_found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: min > max gives max as onnxruntime does (exit 0)")
    sys.exit(0)
if ordinary_ok and np.all(inverted == 1.0) \
        and all(np.all(v == 3.0) for v in inverted_found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: Clip(min=3, max=1) gives 3 (min) everywhere "
          f"where onnxruntime gives 1 (max); min=1, max=3 is right (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither max nor min everywhere (exit 2)")
sys.exit(2)
