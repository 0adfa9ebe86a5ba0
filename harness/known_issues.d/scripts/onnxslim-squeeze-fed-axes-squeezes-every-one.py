"""onnxslim's shape inference (SqueezeHandler, onnxslim/core/shape_inference/standard_ops/tensor/
squeeze.py) reads a Squeeze's axes operand only where it is a constant; where the model feeds
it at run time (a graph input), it takes the axes as absent and squeezes every dimension of
size 1, and writes that shape into the slimmed model's value_info. x (1, 1, 1, 1) > Squeeze(axes
fed as [2, 3]) > Softmax(axis=1) then gets a Squeeze output of rank 0, and onnxruntime refuses to
load the slimmed model ("[ShapeInferenceError] Input rank must be >= 1 for Softmax"); the model
itself is valid (onnx.checker, full check) and runs, giving (1, 1).

Standalone: needs numpy, onnx, onnxslim and onnxruntime (optimisations off). The last line says
REPRODUCED (exit 1: the slimmed model declares the Squeeze output rank 0 and onnxruntime refuses
it), FIXED (exit 0: it loads and gives the model's output), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
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

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import onnxslim  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

KNOWN_ISSUE = "onnxslim-squeeze-fed-axes-squeezes-every-one"

graph = helper.make_graph(
    [helper.make_node("Squeeze", ["x", "axes"], ["squeezed"]),
     helper.make_node("Softmax", ["squeezed"], ["y"], axis=1)], "squeeze",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 1]),
     helper.make_tensor_value_info("axes", TensorProto.INT64, [2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model, full_check=True)
feed = {"x": np.full((1, 1, 1, 1), 0.5, np.float32), "axes": np.array([2, 3], np.int64)}


def run(m):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), options,
                                providers=["CPUExecutionProvider"]).run(None, feed)[0]


expected = run(model)
try:
    slimmed = onnxslim.slim(model)
except Exception as exc:  # noqa: BLE001
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: onnxslim.slim raised {type(exc).__name__}: {exc} (exit 2)")
    sys.exit(2)
ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in slimmed.graph.value_info}
print("model:", expected.shape, "slimmed value_info ranks:", ranks)
try:
    got = run(slimmed)
except Exception as exc:  # noqa: BLE001
    if "Input rank must be >= 1" in str(exc) and ranks.get("squeezed") == 0:
        print(f"onnxruntime: {str(exc).strip().splitlines()[0][:200]}")
        print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnxslim typed the Squeeze of fed axes as rank 0 (exit 1)")
        sys.exit(1)
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {type(exc).__name__}: {str(exc)[:200]} (exit 2)")
    sys.exit(2)
if got.shape == expected.shape and np.allclose(got, expected):
    print(f"FIXED: known issue {KNOWN_ISSUE}: the slimmed model loads and agrees (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: the slimmed model gives {got.shape} (exit 2)")
sys.exit(2)
