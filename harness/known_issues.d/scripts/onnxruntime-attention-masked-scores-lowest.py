# By hand: the bug is in onnx's own backend node test (its model and expected outputs, leg
# 'onnx'), which no parity path converts; this generates the test case with the installed onnx and
# runs onnxruntime on it, as onnx's backend test runner does.
"""Attention's qk_matmul_output (mode 2): onnxruntime writes the lowest float32 where the causal
mask disallows a position, onnx expects -inf.

Standalone: needs numpy, onnx and onnxruntime. It generates ONNX's own backend node test
case(s) test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask_causal, test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal with the installed onnx (onnx.backend.test.case.node.collect_testcases),
runs each model with onnxruntime (graph optimisations off) and compares its outputs with the
outputs onnx expects, as onnx's backend test runner does (numpy.allclose at the case's rtol and
atol). The attention output Y agrees; the fourth output, the masked scores, holds -3.4028235e+38
where onnx expects -inf.
The last line says REPRODUCED (exit 1: onnxruntime's outputs differ from onnx's expected ones),
FIXED (exit 0), DIFFERENT (exit 2: onnxruntime refuses the model instead) or CANNOT RUN (exit 3:
this machine cannot run it, e.g. a framework does not import).
"""

import sys

from skeleton.guard import guarded, step
from skeleton.onnx_node_tests import node_tests_verdict

OP_TYPE = "Attention"
CASES = ['test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask_causal', 'test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal']


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(lambda: node_tests_verdict(OP_TYPE, CASES)))
