"""onnx2tf's TopK converter reads a constant K with int(k), and ONNX's K is a 1-D tensor of
one element: numpy 2.4 raises "TypeError: only 0-dimensional arrays can be converted to Python
scalars" there (numpy deprecated that conversion in 1.25; onnx2tf's metadata pins numpy
1.26.4, where it is a DeprecationWarning and int() gives the value). A K fed as a graph input
goes through tf.cast instead and converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds TopK(x (3,), K) with K an initializer [2] and with K a graph input,
and converts both with onnx2tf. The last line says REPRODUCED (exit 1: the constant K raises
that TypeError, the fed K converts and gives onnxruntime's values [3, 2], indices [1, 2]),
FIXED (exit 0: both convert and give onnxruntime's outputs; numpy < 2.4, or onnx2tf reading K
otherwise), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-topk-k-int-numpy-2"


def model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "case", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


def convert(onnx_model):
    """The path of onnx2tf's float32 TFLite file of the model, or the exception it raised."""
    folder = tempfile.mkdtemp(prefix="onnx2tf-case-")
    path = os.path.join(folder, "model.onnx")  # onnx2tf rewrites its input file: a copy
    onnx.save(onnx_model, path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # onnx2tf prints its log there
            onnx2tf.convert(input_onnx_file_path=path, output_folder_path=os.path.join(folder, "out"),
                            output_signaturedefs=True, copy_onnx_input_output_names_to_tflite=True,
                            non_verbose=True)
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (its failure is the finding)
        return exc
    return os.path.join(folder, "out", "model_float32.tflite")


def run_tflite(path, feeds):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=path).get_signature_runner()(**feeds)


def run_ort(onnx_model, feeds):
    session = ort.InferenceSession(onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def failed(found, kind, text):
    return isinstance(found, kind) and text in str(found)


def said(found):
    if isinstance(found, BaseException):
        first = next((line for line in str(found).splitlines() if line.strip()), "")
        return f"{type(found).__name__}: {first[:200]}"
    return "converted"


def agrees(onnx_model, path, feeds):
    """onnx2tf's TFLite file gives onnxruntime's outputs (names, dtypes aside, and values)."""
    want, got = run_ort(onnx_model, feeds), run_tflite(path, feeds)
    return set(want) == set(got) and all(
        np.asarray(got[name]).shape == want[name].shape
        and np.allclose(np.asarray(got[name]), want[name]) for name in want)


def topk(k_fed):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [1])
    outputs = [helper.make_tensor_value_info("v", TensorProto.FLOAT, ["n"]),
               helper.make_tensor_value_info("i", TensorProto.INT64, ["n"])]
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=1, sorted=1)
    if k_fed:
        return model([node], [x, k], outputs)
    return model([node], [x], outputs, [numpy_helper.from_array(K, "k")])


K = np.array([2], np.int64)
X = np.array([1.0, 3.0, 2.0], np.float32)
print(f"numpy {np.__version__}")
constant, fed = topk(False), topk(True)
found_constant, found_fed = convert(constant), convert(fed)
print(f"K an initializer: {said(found_constant)}")
print(f"K fed: {said(found_fed)}")
fed_ok = isinstance(found_fed, str) and agrees(fed, found_fed, {"x": X, "k": K})

if failed(found_constant, TypeError, "only 0-dimensional arrays can be converted") and fed_ok:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnx2tf's int() of the constant K (shape (1,)) "
          f"raised TypeError under numpy {np.__version__}; a fed K converts (exit 1)")
    sys.exit(1)
if isinstance(found_constant, str) and agrees(constant, found_constant, {"x": X}) and fed_ok:
    print(f"FIXED: known issue {KNOWN_ISSUE}: TopK with a constant K converts and gives "
          f"onnxruntime's outputs (numpy {np.__version__}) (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: K an initializer: {said(found_constant)}; K fed: "
      f"{said(found_fed)}, {'right' if fed_ok else 'wrong or failed'} (exit 2)")
sys.exit(2)
