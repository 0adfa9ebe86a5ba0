"""onnxoptimizer's eliminate_shape_op crashes the process (a segmentation fault) on a Shape
whose start and end select no dimension (Shape-15+ start=1, end=-2 on a rank-1 input, whose
output is the empty shape []), where the input's shape is known.

Standalone: needs onnx and onnxoptimizer. It builds x (float64, [1]) -> Shape(start=1, end=-2)
at opset 19 and runs onnxoptimizer.optimize(model, ["eliminate_shape_op"]) in a child Python
process. The last line says REPRODUCED (exit 1: the child died of a signal), FIXED (exit 0: it
optimized), DIFFERENT (exit 2: another failure) or CANNOT RUN (exit 3).

The cause is that the pass never clamps start and end to [0, rank] (Shape-15), so it reads past
the input's dims; where the read does not crash it can write a constant of garbage instead.
Before the verdict the script also prints how often, in 200 runs in one child process,
Shape(start=1, end=2) on a (1,) input (whose output is []) became a non-empty constant (the
ONNX op suite's case 17d90e5ac8 gave (1,) once in the nightly run of 2026-11-24); that count
varies from run to run and does not decide the verdict.
"""

import subprocess
import sys

from skeleton.verdict import say

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


GARBAGE = r"""
import onnxoptimizer
from onnx import TensorProto, helper, numpy_helper
graph = helper.make_graph(
    [helper.make_node("Shape", ["x"], ["y"], start=1, end=2)], "shape",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1])],
    [helper.make_tensor_value_info("y", TensorProto.INT64, [0])])
model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 15)])
found = []
for _ in range(200):
    optimized = onnxoptimizer.optimize(model, ["eliminate_shape_op"])
    found += [numpy_helper.to_array(t).tolist() for t in optimized.graph.initializer
              if numpy_helper.to_array(t).size]
print(f"Shape(start=1, end=2) on (1,): {len(found)} of 200 runs wrote a non-empty constant "
      f"where the output is []: {found[:5]}")
"""


garbage = subprocess.run([sys.executable, "-c", GARBAGE], capture_output=True, text=True)
print(garbage.stdout.strip() or f"(the garbage check exited {garbage.returncode})")
done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
print(done.stdout.strip())
if done.returncode < 0:
    say("REPRODUCED", f"eliminate_shape_op killed the process (signal {-done.returncode})")
if done.returncode == 0:
    say("FIXED", "the pass ran")
say("DIFFERENT", f"exit {done.returncode}: {done.stderr.strip()[-200:]}")
