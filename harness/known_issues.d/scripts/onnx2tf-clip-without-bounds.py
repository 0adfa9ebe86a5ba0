"""onnx2tf's Clip converter writes no TensorFlow op for a Clip that has neither a min nor a
max (both inputs omitted or given as '', or an opset-6 Clip without its min and max
attributes): it matches relu6, relu, clip_by_value, maximum and minimum only, so the output
has no tensor and the conversion raises "KeyError: 'tf_node'". ONNX reads such a Clip as the
identity; a Clip with a min or a max alone converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds Clip(x) and Clip(x, '', '') at opset 17, and Clip(x, min=-1) as the
control, on x (3,), and converts them with onnx2tf. The last line says REPRODUCED (exit 1: the
two without bounds raise KeyError: 'tf_node', the control converts and gives onnxruntime's
[-1, 0.5, 2]), FIXED (exit 0: all three convert and give onnxruntime's values), DIFFERENT
(exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-clip-without-bounds"


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


def clip(inputs):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    lower = [numpy_helper.from_array(np.array(-1, np.float32), "lo")] if "lo" in inputs else []
    return model([helper.make_node("Clip", inputs, ["y"])], [x], [y], lower)


FEEDS = {"x": np.array([-2.5, 0.5, 2.0], np.float32)}
cases = {"Clip(x)": clip(["x"]), "Clip(x, '', '')": clip(["x", "", ""]),
         "Clip(x, min=-1)": clip(["x", "lo"])}
found = {case: convert(onnx_model) for case, onnx_model in cases.items()}
for case, result in found.items():
    print(f"{case}: {said(result)}")
right = {case: isinstance(result, str) and agrees(cases[case], result, FEEDS)
         for case, result in found.items()}

unbounded = ["Clip(x)", "Clip(x, '', '')"]
if all(failed(found[case], KeyError, "tf_node") for case in unbounded) and right["Clip(x, min=-1)"]:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnx2tf raised KeyError: 'tf_node' on a Clip "
          "without min and max; Clip with a min converts (exit 1)")
    sys.exit(1)
if all(right.values()):
    print(f"FIXED: known issue {KNOWN_ISSUE}: every Clip converts and gives onnxruntime's "
          "values (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: "
      + "; ".join(f"{case}: {said(result)}" for case, result in found.items()) + " (exit 2)")
sys.exit(2)
