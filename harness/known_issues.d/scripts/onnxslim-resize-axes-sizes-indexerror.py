"""onnxslim crashes (IndexError: list index out of range, in update_outputs_dims) on a Resize
by `sizes` with the `axes` attribute (opset 18 and later) whose graph output declares its
shape: the `sizes` name only the listed axes, onnxslim's shape inference reads them as the
whole output shape (rank 2), and copying the declared rank-4 output's dims back then indexes
past the inferred rank.

Standalone: needs numpy, onnx and onnxslim. It builds Resize(x, "", "", sizes=[3, 6],
axes=[2, 3]) on (2, 4, 3, 2) at opset 21, its output declared (2, 4, 3, 6), and slims it. The last line says REPRODUCED (exit 1: the IndexError), FIXED (exit 0: slimmed),
DIFFERENT (exit 2: another exception) or CANNOT RUN (exit 3).
"""

import sys

import numpy as np
import onnxslim
from onnx import TensorProto, helper, numpy_helper
from skeleton.verdict import KNOWN_ISSUE, say

sizes = numpy_helper.from_array(np.array([3, 6], np.int64), "sizes")
graph = helper.make_graph(
    [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest", axes=[2, 3])],
    "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 3, 2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 3, 6])], [sizes])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
model.ir_version = 10
try:
    slimmed = onnxslim.slim(model)
except IndexError as exc:
    print(f"onnxslim.slim raised IndexError: {exc}")
    say("REPRODUCED", "onnxslim crashed on the Resize")
except Exception as exc:  # noqa: BLE001
    say("DIFFERENT", f"onnxslim.slim raised {type(exc).__name__}: {exc}")
print(f"FIXED: known issue {KNOWN_ISSUE}: slimmed,", [n.op_type for n in slimmed.graph.node], "(exit 0)")
sys.exit(0)
