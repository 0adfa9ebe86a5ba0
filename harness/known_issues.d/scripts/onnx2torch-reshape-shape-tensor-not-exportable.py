# By hand: the stage at fault, torch.export after onnx2torch (*>onnx2torch>torch-export), takes
# a torch module, and a generated script feeds its stage a Keras, ONNX or .mat model (the
# export finds no leg of the entry's minimal spec to script).
"""onnx2torch's Reshape module keeps the ONNX graph's constant target shape as a tensor and
branches on its values at run time, so torch.export cannot trace it.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2torch. It builds a one-node ONNX
Reshape of a (2, 2, 2) input to the constant shape [-1, 4] (an initializer: what tf2onnx
writes for a Keras Flatten, and inside a Dense on a rank-3 input), converts it with
onnx2torch, runs the module in eager mode against onnxruntime, then exports it with
torch.export.export, strict and not. The last line says REPRODUCED (exit 1: an export fails in
onnx2torch's node_converters/reshape.py), FIXED (exit 0: both export, and the exported
programs agree), DIFFERENT (exit 2: the module itself is wrong, or an export fails elsewhere
or disagrees) or CANNOT RUN (exit 3: this machine cannot run it, e.g. a framework does not
import).
"""

import sys
import traceback

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say, stack_line

OPSET = 17
X = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
SHAPE = [-1, 4]


def source_model() -> onnx.ModelProto:
    shape = numpy_helper.from_array(np.array(SHAPE, np.int64), "shape")
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    graph = helper.make_graph(
        [node], "reshape", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime reads
    return model


def in_reshape(exc: BaseException) -> bool:
    """The failure stops in onnx2torch's Reshape converter (its traceback, or the frames
    torch's message quotes)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "node_converters/reshape.py" in text.replace("\\", "/")


def main() -> int:
    import onnx2torch
    import onnxruntime as ort
    import torch

    print(stack_line("onnx2torch", "torch", "onnxruntime", "onnx"))
    model = source_model()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": X})[0]
    print(f"ONNX Reshape(x of shape {X.shape}, shape=[-1, 4] as an initializer)")
    print(f"  expected (onnxruntime on the source model): shape {expected.shape}")
    module = onnx2torch.convert(model).eval()
    eager = module(torch.from_numpy(X)).numpy()
    print(f"  onnx2torch module, eager:                   shape {eager.shape}")
    if eager.shape != expected.shape or not np.array_equal(eager, expected):
        say("DIFFERENT", f"the module itself is wrong, not known issue {KNOWN_ISSUE}")
    failed = []
    for strict in (True, False):
        try:
            program = torch.export.export(module, (torch.from_numpy(X),), strict=strict)
        except Exception as exc:  # noqa: BLE001 - where it stops decides the verdict
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"  torch.export.export(strict={strict}): {type(exc).__name__}: {first[:160]}")
            if not in_reshape(exc):
                say("DIFFERENT", f"torch.export.export(strict={strict}) failed elsewhere")
            failed.append(f"strict={strict}")
            continue
        exported = program.module()(torch.from_numpy(X)).numpy()
        print(f"  torch.export.export(strict={strict}): exported, output shape {exported.shape}")
        if exported.shape != expected.shape or not np.array_equal(exported, expected):
            say("DIFFERENT", f"the program exported with strict={strict} is wrong")
    if failed:
        say("REPRODUCED", f"export_error: torch.export.export({', '.join(failed)}) stops in "
                          "onnx2torch/node_converters/reshape.py")
    say("FIXED", "does not reproduce")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
