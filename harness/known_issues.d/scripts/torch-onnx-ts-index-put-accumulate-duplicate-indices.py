# By hand: `parity repro --script` writes no torch-onnx-ts leg (the TorchScript export of a
# converter's module, then onnxruntime on what it wrote); this runs that leg with torch alone.
"""torch.onnx.export(dynamo=False) writes index_put_(accumulate=True) as a ScatterND without
reduction onto zeros, then an Add: where the index repeats a position the exported model adds
one update (the last) instead of their sum.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2pytorch. It builds a one-node ONNX
ScatterND(reduction="add") of updates [10, 20] into [1] at index [0] twice, converts it with
onnx2pytorch (whose ScatterND adds with index_put_(accumulate=True)), runs the module (31,
right), exports the module with the TorchScript exporter and runs the exported model with
onnxruntime: 21. onnxruntime on the source model is the expected output. The last line says
REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2: the module itself is wrong, or the
export fails) or CANNOT RUN (exit 3: this machine cannot run it, e.g. a framework does not
import).
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
DATA = np.array([1.0], np.float32)
UPDATES = np.array([10.0, 20.0], np.float32)
SOURCE = model(
    [helper.make_node("ScatterND", ["data", "indices", "updates"], ["y"], reduction="add")],
    [helper.make_tensor_value_info("data", TensorProto.FLOAT, list(DATA.shape)),
     helper.make_tensor_value_info("updates", TensorProto.FLOAT, list(UPDATES.shape))],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [const("indices", [[0], [0]])], opset=OPSET)


def main() -> int:
    import torch

    print(stack_line("onnx2pytorch", "torch", "onnxruntime", "onnx"))
    expected = onnxruntime(SOURCE, {"data": DATA, "updates": UPDATES})
    print(f"ONNX ScatterND(reduction='add') of updates {UPDATES} into {DATA} at [[0], [0]]")
    print(f"  expected (onnxruntime on the source model): {expected}")
    args = (torch.from_numpy(DATA), torch.from_numpy(UPDATES))
    module = onnx2pytorch_module(SOURCE, (DATA, UPDATES), expected)
    exported = exported_ts(module, args, OPSET)
    scatters = [(node.op_type, [(a.name, a.s) for a in node.attribute if a.name == "reduction"])
                for node in exported.graph.node if node.op_type.startswith("Scatter")]
    print(f"  exported scatters (op, reduction): {scatters}")
    names = [graph_input.name for graph_input in exported.graph.input]
    actual = onnxruntime(exported, dict(zip(names, (DATA, UPDATES), strict=True)))
    print(f"  actual (onnxruntime on the exported model): {actual}")
    if np.allclose(actual, expected, rtol=1e-6):
        say("FIXED", "does not reproduce")
    if np.allclose(actual, DATA + UPDATES[-1], rtol=1e-6):
        say("REPRODUCED", f"numeric_mismatch: {actual} holds the last update alone, not the "
            f"sum {expected}")
    say("DIFFERENT", "the exported model is wrong another way")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
