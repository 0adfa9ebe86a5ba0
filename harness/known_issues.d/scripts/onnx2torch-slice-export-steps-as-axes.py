# By hand: the stage at fault, torch.onnx's TorchScript exporter after onnx2torch
# (*>onnx2torch>torch-onnx-ts), takes a torch module, and a generated script feeds its stage a
# Keras, ONNX or .mat model (the export finds no leg of the entry's minimal specs to script).
"""onnx2torch's Slice module, exported with torch.onnx.export(dynamo=False), writes the ONNX
Slice's steps in the axes position when the source Slice leaves its axes out.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2torch. It builds a one-node ONNX
Slice (data, starts, ends, axes omitted as "", steps) that reverses a vector, converts it with
onnx2torch, runs the module, exports it with the TorchScript exporter and runs the exported
model with onnxruntime. The ONNX spec's inputs are positional (data, starts, ends, axes,
steps); onnxruntime on the source model is the expected output. The last line says
REPRODUCED (exit 1: the exported model's output differs, or onnxruntime refuses it), FIXED
(exit 0), DIFFERENT (exit 2: the module itself is wrong in eager mode, or the export fails) or
CANNOT RUN (exit 3: this machine cannot run it, e.g. a framework does not import).
"""

import io
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say, stack_line

OPSET = 17
X = np.array([0.0, 1.0, 2.0], np.float32)
STARTS, ENDS, STEPS = [-1], [-4], [-1]  # x[::-1]


def source_model() -> onnx.ModelProto:
    constants = [numpy_helper.from_array(np.array(values, np.int64), name)
                 for name, values in (("starts", STARTS), ("ends", ENDS), ("steps", STEPS))]
    node = helper.make_node("Slice", ["x", "starts", "ends", "", "steps"], ["y"])
    graph = helper.make_graph(
        [node], "slice", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime reads
    return model


def run(model: onnx.ModelProto) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def main() -> int:
    import onnx2torch
    import torch

    print(stack_line("onnx2torch", "torch", "onnxruntime", "onnx"))
    model = source_model()
    expected = run(model)
    print(f"ONNX Slice(x, starts={STARTS}, ends={ENDS}, axes omitted, steps={STEPS}) on {X}")
    print(f"  expected (onnxruntime on the source model): {expected}")
    module = onnx2torch.convert(model).eval()
    eager = module(torch.from_numpy(X)).numpy()
    print(f"  onnx2torch module, eager:                   {eager}")
    if eager.shape != expected.shape or not np.allclose(eager, expected):
        say("DIFFERENT", f"the module itself is wrong, not known issue {KNOWN_ISSUE}")
    buffer = io.BytesIO()
    try:
        torch.onnx.export(module, (torch.from_numpy(X),), buffer, dynamo=False,
                          input_names=["x"], opset_version=OPSET)
    except Exception as exc:  # noqa: BLE001 - any export failure is another bug
        say("DIFFERENT", f"torch.onnx.export failed: {type(exc).__name__}: {exc}")
    exported = onnx.load_model_from_string(buffer.getvalue())
    exported.ir_version = 8
    (slice_node,) = [node for node in exported.graph.node if node.op_type == "Slice"]
    print(f"  exported Slice's inputs: {list(slice_node.input)}")
    try:
        actual = run(exported)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's refusal is the bug too
        print(f"  exported model: onnxruntime refuses it: {exc}")
        say("REPRODUCED", "load_error")
    print(f"  actual (onnxruntime on the exported model): {actual}")
    if actual.shape != expected.shape or not np.allclose(actual, expected):
        category = "shape_mismatch" if actual.shape != expected.shape else "numeric_mismatch"
        say("REPRODUCED", f"{category}")
    say("FIXED", "does not reproduce")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
