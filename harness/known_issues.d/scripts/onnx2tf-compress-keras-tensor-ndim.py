"""onnx2tf converts an ONNX Compress with tf.experimental.numpy.compress, which reads `.ndim`
of its operands; a tensor computed at run time is a tf_keras KerasTensor while onnx2tf builds
its Keras model, and a KerasTensor has no `ndim`: the conversion raises "AttributeError:
'KerasTensor' object has no attribute 'ndim'", on the condition where it is a graph input, on
the data where the condition is a constant (initializer).

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and,
where the conversions pass, ai_edge_litert. It builds Compress(x (3, 2), condition, axis=0) with
the condition fed as a graph input and with it an initializer [True, False, True], and converts
both with onnx2tf. The last line says REPRODUCED (exit 1: both raise that AttributeError),
FIXED (exit 0: both convert and onnx2tf's TFLite files give onnxruntime's rows 0 and 2),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-compress-keras-tensor-ndim"


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


def compress(condition_fed):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])
    node = helper.make_node("Compress", ["x", "c"], ["y"], axis=0)
    if condition_fed:
        return model([node], [x, c], [y])
    return model([node], [x], [y], [numpy_helper.from_array(CONDITION, "c")])


CONDITION = np.array([True, False, True])
X = np.arange(6, dtype=np.float32).reshape(3, 2)
found = {}
for fed in (True, False):
    case = "condition fed" if fed else "condition an initializer"
    found[case] = (compress(fed), convert(compress(fed)), {"x": X, "c": CONDITION} if fed else {"x": X})
    print(f"{case}: {said(found[case][1])}")

if all(failed(result, AttributeError, "'KerasTensor' object has no attribute 'ndim'")
       for _, result, _ in found.values()):
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnx2tf raised AttributeError: 'KerasTensor' "
          "object has no attribute 'ndim' on Compress, fed or constant condition (exit 1)")
    sys.exit(1)
if all(isinstance(result, str) and agrees(onnx_model, result, feeds)
       for onnx_model, result, feeds in found.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: both Compress models convert and give "
          "onnxruntime's rows (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: "
      + "; ".join(f"{case}: {said(result)}" for case, (_, result, _) in found.items()) + " (exit 2)")
sys.exit(2)
