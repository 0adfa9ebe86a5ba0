"""onnxslim breaks ONNX's node test test_affine_grid_2d_expanded (AffineGrid-20 expanded into
its function body, with If nodes and their branch subgraphs): the slimmed model
names a node input that no node, input or initializer provides ("Node input
'AffineGrid_test_affine_grid_2d_expanded_function_step_d_then_subg_30_h1' is not a graph
input, initializer, or output of a previous node"), and onnxruntime refuses to load it.

Standalone: needs onnx (with its backend test data), onnxslim and onnxruntime. It loads the
node test's model from onnx's own test cases (onnx.backend.test.case.node.collect_testcases),
checks that onnxruntime loads it, slims it and
loads the result. The last line says REPRODUCED (exit 1: the slimmed model is refused for a
dangling input), FIXED (exit 0: it loads), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import sys

import onnxruntime as ort
import onnxslim
from onnx.backend.test.case import node
from skeleton.verdict import say

found = [case for case in node.collect_testcases(None)
         if case.name == "test_affine_grid_2d_expanded"]
if not found:
    print("CANNOT RUN: this onnx has no test_affine_grid_2d_expanded (exit 3)")
    sys.exit(3)
model = found[0].model
model.ir_version = min(model.ir_version, 10)  # onnxruntime 1.31 reads IR 13 at most


def load(m):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])


load(model)
slimmed = onnxslim.slim(model)
try:
    load(slimmed)
except Exception as exc:  # noqa: BLE001
    if "is not a graph input, initializer, or output of a previous node" in str(exc):
        print(f"slimmed: {str(exc).splitlines()[0][:300]}")
        say("REPRODUCED", "the slimmed model has a dangling node input")
    say("DIFFERENT", f"{type(exc).__name__}: {str(exc)[:200]}")
say("FIXED", "the slimmed model loads")
