"""onnx-simplifier's own pass eliminate_nop_softmax replaces a Softmax or LogSoftmax whose
normalised group is one element (a constant 1 or 0) by Shape -> ConstantOfShape whatever the
model's opset; ConstantOfShape exists from opset 9, so on a model at opset 7 or 8 onnxsim's
own check of the rewritten graph raises "No Op registered for ConstantOfShape with
domain_version of 7" and nothing is simplified. The model itself is valid (onnx.checker with
full_check) and runs; at opset 9 the same Softmax simplifies. Leaving the pass out
(skipped_optimizers=["eliminate_nop_softmax"]) simplifies the opset-7 model.

Standalone: needs onnx and onnxsim. It builds x (1, 1) -> Softmax(axis=1) -> y at opset 7 and
at opset 9, checks the opset-7 one with onnx.checker and simplifies both. The last line says
REPRODUCED (exit 1: the opset-7 model raises that error and the opset-9 one simplifies),
FIXED (exit 0: both simplify), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
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

import onnx  # noqa: E402
import onnxsim  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

KNOWN_ISSUE = "onnxsim-nop-softmax-constantofshape-below-opset-9"


def model(opset):
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=1)], "softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


onnx.checker.check_model(model(7), full_check=True)
onnxsim.simplify(model(9))
try:
    onnxsim.simplify(model(7))
except Exception as exc:  # noqa: BLE001
    first = str(exc).strip().splitlines()[0]
    if "No Op registered for ConstantOfShape with domain_version of 7" in str(exc):
        print(f"opset 7: {type(exc).__name__}: {first}")
        print(f"REPRODUCED: known issue {KNOWN_ISSUE}: onnxsim wrote a ConstantOfShape into the opset-7 model (exit 1)")
        sys.exit(1)
    print(f"DIFFERENT: known issue {KNOWN_ISSUE}: {type(exc).__name__}: {first} (exit 2)")
    sys.exit(2)
print(f"FIXED: known issue {KNOWN_ISSUE}: the opset-7 Softmax simplifies (exit 0)")
sys.exit(0)
