# By hand: `parity repro --script` writes no torch-onnx-ts leg (the TorchScript export of a
# converter's module, then onnxruntime on what it wrote); this runs that leg with torch alone.
"""torch.onnx.export drops avg_pool's divisor_override: the exported AveragePool divides by the
kernel size, where the module divides by the override.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2pytorch. It builds a one-node ONNX
LpPool (p=2, kernel 2) over [3, 4], converts it with onnx2pytorch (whose LpPool sums |x|**p
with avg_pool2d(divisor_override=1)), runs the module (5.0, right), exports the module with
the TorchScript exporter (dynamo=False) and runs the exported model with onnxruntime: it
averages instead of summing, sqrt((9 + 16) / 2). onnxruntime on the source model is the
expected output. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2:
the module itself is wrong, or the export fails) or CANNOT RUN (exit 3: this machine cannot
run it, e.g. a framework does not import).
"""

import sys

import numpy as np
from onnx import TensorProto, helper
from skeleton.guard import guarded, step
from skeleton.onnx_build import model
from skeleton.ort import onnxruntime
from skeleton.torch_onnx import exported_ts, onnx2pytorch_module
from skeleton.verdict import say, stack_line

OPSET = 18
X = np.array([[[3.0, 4.0]]], np.float32)
SOURCE = model([helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2], p=2)],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], opset=OPSET)


def main() -> int:
    import torch

    print(stack_line("onnx2pytorch", "torch", "onnxruntime", "onnx"))
    expected = onnxruntime(SOURCE, {"x": X})
    print(f"ONNX LpPool(p=2, kernel_shape=[2]) of {X.ravel()}")
    print(f"  expected (onnxruntime on the source model): {expected.ravel()}")
    module = onnx2pytorch_module(SOURCE, (X,), expected)
    exported = exported_ts(module, (torch.from_numpy(X),), OPSET)
    print(f"  exported nodes: {[node.op_type for node in exported.graph.node]}")
    actual = onnxruntime(exported, {exported.graph.input[0].name: X})
    print(f"  actual (onnxruntime on the exported model): {actual.ravel()}")
    if np.allclose(actual, expected, rtol=1e-6):
        say("FIXED", "does not reproduce")
    if np.allclose(actual ** 2 * 2, expected ** 2, rtol=1e-5):
        say("REPRODUCED", "numeric_mismatch: the exported AveragePool divided the sum by the "
            "kernel size (2), not by divisor_override=1")
    say("DIFFERENT", "the exported model is wrong another way")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
