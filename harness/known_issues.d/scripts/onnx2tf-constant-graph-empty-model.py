"""A graph whose outputs do not depend on any graph input (Range of three initializers, no
graph inputs) is folded by onnxsim, which onnx2tf runs first, into an initializer output; onnx2tf
leaves a graph output that is a constant out of its Keras model (onnx2tf#627), so the model it
hands to TFLiteConverter has no inputs and no outputs, and the conversion raises "ConverterError:
Could not translate MLIR to FlatBuffer." The same Range added to a graph input converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds Range(0, 4, 1) from initializers as the graph's only node, and
x (4,) + Range(0, 4, 1) as the control, converts both with onnx2tf, and counts the inputs and
outputs of the Keras model onnx2tf passes to tf.lite.TFLiteConverter.from_keras_model. The last
line says REPRODUCED (exit 1: the Range graph raises that ConverterError from a Keras model of
0 inputs and 0 outputs, the control converts and gives onnxruntime's x + [0, 1, 2, 3]), FIXED
(exit 0: both convert and give onnxruntime's outputs), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

KNOWN_ISSUE = "onnx2tf-constant-graph-empty-model"


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
import tensorflow as tf  # noqa: E402

KERAS_MODELS = []  # (inputs, outputs) of each Keras model onnx2tf hands TFLiteConverter
_from_keras_model = tf.lite.TFLiteConverter.from_keras_model


def _counting(keras_model):
    KERAS_MODELS.append((len(keras_model.inputs), len(keras_model.outputs)))
    return _from_keras_model(keras_model)


tf.lite.TFLiteConverter.from_keras_model = staticmethod(_counting)


def ranged(with_input):
    bounds = [numpy_helper.from_array(np.array(value, np.float32), name)
              for name, value in (("start", 0), ("limit", 4), ("delta", 1))]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    if not with_input:
        return model([helper.make_node("Range", ["start", "limit", "delta"], ["y"])], [], [y], bounds)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    return model([helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
                  helper.make_node("Add", ["x", "r"], ["y"])], [x], [y], bounds)


FEEDS = {"x": np.array([0.5, -1.0, 2.0, 3.0], np.float32)}
alone, added = ranged(False), ranged(True)
found_alone = convert(alone)
keras_alone = KERAS_MODELS[-1] if KERAS_MODELS else None
found_added = convert(added)
print(f"Range alone: {said(found_alone)} (Keras model inputs, outputs: {keras_alone})")
print(f"x + Range: {said(found_added)}")
added_ok = isinstance(found_added, str) and agrees(added, found_added, FEEDS)

if failed(found_alone, Exception, "Could not translate MLIR to FlatBuffer") \
        and keras_alone == (0, 0) and added_ok:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: the Range-only graph gave a Keras model of no "
          "inputs and no outputs, which TFLiteConverter refused; x + Range converts (exit 1)")
    sys.exit(1)
if isinstance(found_alone, str) and agrees(alone, found_alone, {}) and added_ok:
    print(f"FIXED: known issue {KNOWN_ISSUE}: the Range-only graph converts and gives "
          "onnxruntime's [0, 1, 2, 3] (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: Range alone: {said(found_alone)}, Keras model "
      f"{keras_alone}; x + Range: {said(found_added)}, "
      f"{'right' if added_ok else 'wrong or failed'} (exit 2)")
sys.exit(2)
