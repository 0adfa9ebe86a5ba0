# By hand: `parity repro --script` writes no torch-onnx-ts leg (the TorchScript export of a
# converter's module, then onnxruntime on what it wrote); this runs that leg with torch alone.
"""torch.onnx.export(dynamo=False) writes index_add_ as a ScatterElements without reduction, so
where the index repeats a position the exported model keeps one addend instead of their sum.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2pytorch. It builds a one-node ONNX
Col2Im of a 1x6 image from three 1x3 blocks at stride 2 (the blocks overlap at one column),
converts it with onnx2pytorch (whose Col2Im accumulates the blocks with index_add_), runs the
module (right), exports the module with the TorchScript exporter and runs the exported model
with onnxruntime: the overlapping column holds the last block's value, not the sum. onnxruntime
on the source model is the expected output. The last line says REPRODUCED (exit 1), FIXED
(exit 0), DIFFERENT (exit 2: the module itself is wrong, or the export fails) or CANNOT RUN
(exit 3: this machine cannot run it, e.g. a framework does not import).
"""

import sys

import numpy as np
from onnx import TensorProto, helper
from skeleton.guard import guarded, step
from skeleton.onnx_build import const, model
from skeleton.ort import onnxruntime
from skeleton.torch_onnx import exported_ts, onnx2pytorch_module
from skeleton.verdict import say, stack_line

OPSET = 18
# (batch, block elements, blocks): block 0 is [1, 3, 5], block 1 is [2, 4, 6].
X = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], np.float32)
IMAGE, BLOCK, STRIDES = [1, 6], [1, 3], [1, 2]
SOURCE = model(
    [helper.make_node("Col2Im", ["x", "image_shape", "block_shape"], ["y"], strides=STRIDES)],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [const("image_shape", IMAGE), const("block_shape", BLOCK)], opset=OPSET)


def main() -> int:
    import torch

    print(stack_line("onnx2pytorch", "torch", "onnxruntime", "onnx"))
    expected = onnxruntime(SOURCE, {"x": X})
    print(f"ONNX Col2Im(image {IMAGE}, block {BLOCK}, strides {STRIDES}) of blocks {X[0].T.tolist()}")
    print(f"  expected (onnxruntime on the source model): {expected.ravel()}")
    module = onnx2pytorch_module(SOURCE, (X,), expected)
    exported = exported_ts(module, (torch.from_numpy(X),), OPSET)
    scatters = [(node.op_type, [(a.name, a.s) for a in node.attribute if a.name == "reduction"])
                for node in exported.graph.node if node.op_type.startswith("Scatter")]
    print(f"  exported scatters (op, reduction): {scatters}")
    actual = onnxruntime(exported, {exported.graph.input[0].name: X})
    print(f"  actual (onnxruntime on the exported model): {actual.ravel()}")
    if np.allclose(actual, expected, rtol=1e-6):
        say("FIXED", "does not reproduce")
    wrong = np.flatnonzero(~np.isclose(actual.ravel(), expected.ravel(), rtol=1e-6))
    if wrong.tolist() == [2]:
        say("REPRODUCED", f"numeric_mismatch: the overlapping column holds {actual.ravel()[2]}, "
            f"not the sum {expected.ravel()[2]}")
    say("DIFFERENT", f"the exported model is wrong at other columns: {wrong.tolist()}")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
