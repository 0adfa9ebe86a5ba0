# By hand: the bug is in onnx's own backend node test (its model and expected outputs, leg
# 'onnx'), which no parity path converts; this generates the test case with the installed onnx and
# runs onnxruntime on it, as onnx's backend test runner does.
"""MaxUnpool with an output_shape input: onnx reads the indices on the unpadded tensor, onnxruntime
scatters them into the output_shape tensor.

Standalone: needs numpy, onnx and onnxruntime. It generates ONNX's own backend node test
case(s) test_maxunpool_export_with_output_shape with the installed onnx (onnx.backend.test.case.node.collect_testcases),
runs each model with onnxruntime (graph optimisations off) and compares its outputs with the
outputs onnx expects, as onnx's backend test runner does (numpy.allclose at the case's rtol and
atol). onnx expects the 2x2 values at (1, 1), (1, 3), (3, 1) and (3, 3) of the 5x5 output; onnxruntime
puts them at the flat indices 5, 7, 13 and 15 of the 5x5 output (onnx#2398).
The last line says REPRODUCED (exit 1: onnxruntime's outputs differ from onnx's expected ones),
FIXED (exit 0), DIFFERENT (exit 2: onnxruntime refuses the model instead) or CANNOT RUN (exit 3:
this machine cannot run it, e.g. a framework does not import).
"""

import sys

from skeleton.guard import guarded, step
from skeleton.onnx_node_tests import node_tests_verdict

OP_TYPE = "MaxUnpool"
CASES = ['test_maxunpool_export_with_output_shape']


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(lambda: node_tests_verdict(OP_TYPE, CASES)))
