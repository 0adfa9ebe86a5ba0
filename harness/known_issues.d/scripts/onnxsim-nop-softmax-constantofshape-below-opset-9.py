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


import onnx
import onnxsim
from onnx import TensorProto, helper
from skeleton.verdict import say


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
        say("REPRODUCED", "onnxsim wrote a ConstantOfShape into the opset-7 model")
    say("DIFFERENT", f"{type(exc).__name__}: {first}")
say("FIXED", "the opset-7 Softmax simplifies")
