"""onnx2tf has no converter for the ONNX op CastLike (opset 15): the conversion raises
"ModuleNotFoundError: No module named 'onnx2tf.ops.CastLike'" after logging "CastLike OP is not
yet implemented."; the same cast written as Cast(to=INT32) converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds CastLike(x (3,) float32, an int32 initializer) and Cast(x, to=INT32)
and converts both with onnx2tf. The last line says REPRODUCED (exit 1: CastLike raises that
ModuleNotFoundError, Cast converts and gives onnxruntime's [1, -2, 3]), FIXED (exit 0: both
convert and give onnxruntime's values), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-castlike-not-implemented"


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


def cast(like):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [3])
    if like:
        return model([helper.make_node("CastLike", ["x", "t"], ["y"])], [x], [y],
                     [numpy_helper.from_array(np.array(0, np.int32), "t")])
    return model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.INT32)], [x], [y])


FEEDS = {"x": np.array([1.25, -2.5, 3.75], np.float32)}
castlike, plain = cast(True), cast(False)
found_like, found_plain = convert(castlike), convert(plain)
print(f"CastLike: {said(found_like)}")
print(f"Cast: {said(found_plain)}")
plain_ok = isinstance(found_plain, str) and agrees(plain, found_plain, FEEDS)

if failed(found_like, ModuleNotFoundError, "onnx2tf.ops.CastLike") and plain_ok:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnx2tf has no CastLike converter "
          "(ModuleNotFoundError), the same Cast converts (exit 1)")
    sys.exit(1)
if isinstance(found_like, str) and agrees(castlike, found_like, FEEDS) and plain_ok:
    print(f"FIXED: known issue {KNOWN_ISSUE}: CastLike converts and gives onnxruntime's "
          "values (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: CastLike: {said(found_like)}; Cast: "
      f"{said(found_plain)}, {'right' if plain_ok else 'wrong or failed'} (exit 2)")
sys.exit(2)
