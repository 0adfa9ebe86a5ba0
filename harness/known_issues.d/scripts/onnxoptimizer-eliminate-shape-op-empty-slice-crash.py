"""onnxoptimizer's eliminate_shape_op crashes the process (a segmentation fault) on a Shape
whose start and end select no dimension (Shape-15+ start=1, end=-2 on a rank-1 input, whose
output is the empty shape []), where the input's shape is known.

Standalone: needs onnx and onnxoptimizer. It builds x (float64, [1]) -> Shape(start=1, end=-2)
at opset 19 and runs onnxoptimizer.optimize(model, ["eliminate_shape_op"]) in a child Python
process. The last line says REPRODUCED (exit 1: the child died of a signal), FIXED (exit 0: it
optimized), DIFFERENT (exit 2: another failure) or CANNOT RUN (exit 3).
"""

import subprocess
import sys

CHILD = r"""
import onnxoptimizer
from onnx import TensorProto, helper
graph = helper.make_graph(
    [helper.make_node("Shape", ["x"], ["y"], start=1, end=-2)], "shape",
    [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1])],
    [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 19)])
optimized = onnxoptimizer.optimize(model, ["eliminate_shape_op"])
print("ops after the pass:", [n.op_type for n in optimized.graph.node])
"""

try:
    import onnx  # noqa: F401
    import onnxoptimizer  # noqa: F401
except ImportError as exc:
    print(f"CANNOT RUN: {exc} (exit 3)")
    sys.exit(3)

done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
print(done.stdout.strip())
if done.returncode < 0:
    print(f"REPRODUCED: eliminate_shape_op killed the process (signal {-done.returncode}) (exit 1)")
    sys.exit(1)
if done.returncode == 0:
    print("FIXED: the pass ran (exit 0)")
    sys.exit(0)
print(f"DIFFERENT: exit {done.returncode}: {done.stderr.strip()[-200:]} (exit 2)")
sys.exit(2)
