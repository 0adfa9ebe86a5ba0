"""onnx2tf gets a Transpose of a rank-5 tensor wrong when two of its spatial dimensions are
equal: Transpose with no perm (reverse every axis) of x (1, 1, 3, 3, 2) gives x transposed
(4, 2, 3, 1, 0), the two 3s swapped, where ONNX asks for (4, 3, 2, 1, 0); the same with
x (1, 1, 3, 4, 2) is right.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (1, 1, 3, 3, 2)) -> Transpose -> y at opset 13, and for contrast the same with
(1, 1, 3, 4, 2), converts each with onnx2tf, and runs the SavedModel's signature and the float32
TFLite file on x in the channel-last layout onnx2tf documents (axis 1 last); their outputs have
ONNX's shape. The last line says REPRODUCED (exit 1: the (1, 1, 3, 3, 2) output is x transposed
(4, 2, 3, 1, 0) on both, the other right), FIXED (exit 0: both agree with onnxruntime),
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
from onnx import TensorProto, helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-transpose-equal-dims-swapped"

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


def case(shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["y"])], "transpose",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape[::-1])])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13)])
    expected = onnxruntime(model, {"x": x})
    signature, tflite = convert(model, "transpose")
    feeds = {"x": np.ascontiguousarray(np.moveaxis(x, 1, -1))}
    found = {"SavedModel": savedmodel(signature, feeds), "TFLite": litert(tflite, feeds)}
    print(f"x {shape}: output[0, :, :, 0, 0]")
    print(f"  onnxruntime  {expected[0, :, :, 0, 0].tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value[0, :, :, 0, 0].tolist()}")
    return x, expected, found


x, square, square_found = case([1, 1, 3, 3, 2])
_, plain, plain_found = case([1, 1, 3, 4, 2])
plain_ok = all(np.array_equal(v, plain) for v in plain_found.values())
if plain_ok and all(np.array_equal(v, square) for v in square_found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: both agree with onnxruntime (exit 0)")
    sys.exit(0)
swapped = x.transpose(4, 2, 3, 1, 0)
if plain_ok and all(np.array_equal(v, swapped) for v in square_found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: the (1, 1, 3, 3, 2) input comes out "
          f"transposed (4, 2, 3, 1, 0), its two 3s swapped; (1, 1, 3, 4, 2) is right (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: not the swapped transpose (exit 2)")
sys.exit(2)
