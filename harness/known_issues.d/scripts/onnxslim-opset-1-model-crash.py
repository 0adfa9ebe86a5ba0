"""onnxslim crashes ("AttributeError: 'NoneType' object has no attribute 'opset_import'") on a
model that imports ai.onnx at opset 1, such as ONNX's own node test test_not_2d (a Not at
opset 1); the same Not at opset 13 slims.

Standalone: needs onnx and onnxslim. It builds x -> Not -> y (bool, (3, 4)) at opset 1 and at
opset 13 and slims both. The last line says REPRODUCED (exit 1: the opset-1 model raises that
AttributeError and the opset-13 one slims), FIXED (exit 0: both slim), DIFFERENT (exit 2) or
CANNOT RUN (exit 3).
"""


import onnxslim
from onnx import TensorProto, helper
from skeleton.verdict import say


def model(opset):
    graph = helper.make_graph(
        [helper.make_node("Not", ["x"], ["y"])], "not",
        [helper.make_tensor_value_info("x", TensorProto.BOOL, [3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.BOOL, [3, 4])])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


onnxslim.slim(model(13))
try:
    onnxslim.slim(model(1))
except AttributeError as exc:
    if "opset_import" in str(exc):
        print(f"opset 1: AttributeError: {exc}")
        say("REPRODUCED", "onnxslim crashed on the opset-1 model")
    say("DIFFERENT", f"AttributeError: {exc}")
except Exception as exc:  # noqa: BLE001
    say("DIFFERENT", f"{type(exc).__name__}: {exc}")
say("FIXED", "the opset-1 model slims")
