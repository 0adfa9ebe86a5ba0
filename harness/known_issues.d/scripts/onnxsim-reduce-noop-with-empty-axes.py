"""onnx-simplifier reduces over every axis a Reduce whose noop_with_empty_axes is 1 and whose
axes are empty or omitted, where the spec makes it the identity: ReduceSum-13 (keepdims=0,
noop_with_empty_axes=1, no axes) on a (1,) input gives a scalar () after onnxsim.simplify,
where the model gives the input itself, shape (1,).

Standalone: needs numpy, onnx, onnxsim and onnxruntime (optimisations off). The last line says
REPRODUCED (exit 1: the simplified model's output shape differs), FIXED (exit 0), DIFFERENT
(exit 2: onnxsim raised) or CANNOT RUN (exit 3).
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
import onnxruntime as ort  # noqa: E402
import onnxsim  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

KNOWN_ISSUE = "onnxsim-reduce-noop-with-empty-axes"

graph = helper.make_graph(
    [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0, noop_with_empty_axes=1)], "reduce",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 13)])


def run(m, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), options,
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


x = np.array([2.5], np.float32)
try:
    simplified, _ = onnxsim.simplify(model)
except Exception as exc:  # noqa: BLE001
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: onnxsim.simplify raised {type(exc).__name__}: {exc} (exit 2)")
    sys.exit(2)
expected, got = run(model, x), run(simplified, x)
print("model:", expected.shape, expected, "simplified:", got.shape, got)
if expected.shape != got.shape:
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnxsim reduced the no-op Reduce over every axis (exit 1)")
    sys.exit(1)
print(f"FIXED: known issue {KNOWN_ISSUE}: the simplified model keeps the input (exit 0)")
sys.exit(0)
