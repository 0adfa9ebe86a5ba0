# By hand: the bug is in onnx's own backend node test (its model and expected outputs, leg
# 'onnx'), which no parity path converts; this generates the test case with the installed onnx and
# runs onnxruntime on it, as onnx's backend test runner does.
"""DFT and STFT: onnx's expected outputs are a float64 transform with exact zeros, which a float32
transform does not meet at the backend test's atol of 1e-7.

Standalone: needs numpy, onnx and onnxruntime. It generates ONNX's own backend node test
case(s) test_dft, test_dft_axis, test_dft_inverse, test_dft_rfft, test_dft_irfft with the installed onnx (onnx.backend.test.case.node.collect_testcases),
runs each model with onnxruntime (graph optimisations off) and compares its outputs with the
outputs onnx expects, as onnx's backend test runner does (numpy.allclose at the case's rtol and
atol). The differences are float32 rounding of values up to |540|: a few 1e-4 where onnx expects 0;
the STFT cases (test_stft, test_stft_with_window) behave alike.
The last line says REPRODUCED (exit 1: onnxruntime's outputs differ from onnx's expected ones),
FIXED (exit 0), DIFFERENT (exit 2: onnxruntime refuses the model instead) or CANNOT RUN (exit 3:
this machine cannot run it, e.g. a framework does not import).
"""

import sys

from skeleton.guard import guarded, step
from skeleton.onnx_node_tests import node_tests_verdict

OP_TYPE = "DFT"
CASES = ['test_dft', 'test_dft_axis', 'test_dft_inverse', 'test_dft_rfft', 'test_dft_irfft']


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(lambda: node_tests_verdict(OP_TYPE, CASES)))
