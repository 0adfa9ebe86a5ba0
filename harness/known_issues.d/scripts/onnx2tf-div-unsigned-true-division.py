"""onnx2tf casts an integer Div back to its integer type only for int8, int16, int32 and int64
(ops/Div.py's list): an unsigned Div (uint8 / uint8) gives the float32 quotient, not ONNX's
truncated integer quotient in uint8.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
a, b (uint8, (3,)) -> Div at opset 19, and for contrast the same in int32, converts each with
onnx2tf, and runs the SavedModel's signature and the float32 TFLite file. The last line says
REPRODUCED (exit 1: both uint8 outputs are the float32 true quotient, the int32 ones right),
FIXED (exit 0: both agree with onnxruntime in dtype and value), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
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

KNOWN_ISSUE = "onnx2tf-div-unsigned-true-division"
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


def case(elem, dtype):
    graph = helper.make_graph(
        [helper.make_node("Div", ["a", "b"], ["y"])], "div",
        [helper.make_tensor_value_info(name, elem, [3]) for name in ("a", "b")],
        [helper.make_tensor_value_info("y", elem, [3])])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 19)])
    feeds = {"a": np.array([4, 9, 7], dtype), "b": np.array([7, 2, 3], dtype)}
    expected = onnxruntime(model, feeds)
    signature, tflite = convert(model, "div")
    found = {"SavedModel": savedmodel(signature, feeds), "TFLite": litert(tflite, feeds)}
    print(f"Div {feeds['a'].tolist()} / {feeds['b'].tolist()} ({np.dtype(dtype).name})")
    print(f"  onnxruntime  {expected.tolist()} {expected.dtype}")
    for name, value in found.items():
        print(f"  {name:12s} {value.tolist()} {value.dtype}")
    return expected, found


def same(found, expected):
    return found.dtype == expected.dtype and np.array_equal(found, expected)


unsigned, unsigned_found = case(TensorProto.UINT8, np.uint8)
signed, signed_found = case(TensorProto.INT32, np.int32)
signed_ok = all(same(v, signed) for v in signed_found.values())
if signed_ok and all(same(v, unsigned) for v in unsigned_found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: uint8 Div gives uint8 as onnxruntime does (exit 0)")
    sys.exit(0)
quotient = np.array([4, 9, 7], np.float32) / np.array([7, 2, 3], np.float32)
if signed_ok and all(v.dtype == np.float32 and np.allclose(v, quotient)
                     for v in unsigned_found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: uint8 Div gives float32 "
          f"{unsigned_found['SavedModel'].tolist()} where onnxruntime gives uint8 "
          f"{unsigned.tolist()}; int32 is right (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: not the float32 true quotient (exit 2)")
sys.exit(2)
