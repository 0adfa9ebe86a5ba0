# By hand: `parity repro --script` writes no torch-onnx-ts leg (the TorchScript export of a
# converter's module, then onnxruntime on what it wrote); this runs that leg with torch alone.
"""torch.onnx.export(dynamo=False) computes with a 0-d float64 tensor in float32: Pow of a 0-d
float64 base and an integer exponent is written as Cast, Cast, Pow in float32.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2torch. It builds a one-node ONNX
Pow of a 0-d float64 base and a (2,) int64 exponent (ONNX Pow returns the base's type),
converts it with onnx2torch, runs the module (float64, right), exports the module with the
TorchScript exporter and runs the exported model with onnxruntime. onnxruntime on the source
model is the expected output. The last line says REPRODUCED (exit 1: the exported model's
output is float32), FIXED (exit 0), DIFFERENT (exit 2: the module itself is wrong, or the
export fails) or CANNOT RUN (exit 3: this machine cannot run it, e.g. a framework does not
import).
"""

import io
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say, stack_line

OPSET = 14
BASE = np.array(1.1, np.float64)
EXPONENT = np.array([2, 3], np.int64)


def source_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Pow", ["x", "e"], ["y"])], "pow",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, []),
         helper.make_tensor_value_info("e", TensorProto.INT64, list(EXPONENT.shape))],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime reads
    return model


def run(model: onnx.ModelProto) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, (BASE, EXPONENT), strict=True)))[0]


def main() -> int:
    import onnx2torch
    import torch

    print(stack_line("onnx2torch", "torch", "onnxruntime", "onnx"))
    model = source_model()
    expected = run(model)
    print(f"ONNX Pow({BASE!r} float64 0-d, {EXPONENT} int64)")
    print(f"  expected (onnxruntime on the source model): {expected!r}")
    module = onnx2torch.convert(model).eval()
    args = (torch.from_numpy(BASE), torch.from_numpy(EXPONENT))
    eager = module(*args).numpy()
    print(f"  onnx2torch module, eager:                   {eager!r}")
    if eager.dtype != expected.dtype or not np.allclose(eager, expected, rtol=1e-12):
        say("DIFFERENT", f"the module itself is wrong, not known issue {KNOWN_ISSUE}")
    buffer = io.BytesIO()
    try:
        torch.onnx.export(module, args, buffer, dynamo=False, input_names=["x", "e"],
                          opset_version=OPSET)
    except Exception as exc:  # noqa: BLE001 - any export failure is another bug
        say("DIFFERENT", f"torch.onnx.export failed: {type(exc).__name__}: {exc}")
    exported = onnx.load_model_from_string(buffer.getvalue())
    exported.ir_version = 8
    casts = [(node.op_type, [a.i for a in node.attribute]) for node in exported.graph.node]
    print(f"  exported nodes (op, attributes): {casts}")
    actual = run(exported)
    print(f"  actual (onnxruntime on the exported model): {actual!r}")
    if actual.dtype != expected.dtype:
        say("REPRODUCED", f"dtype_mismatch: {actual.dtype} != {expected.dtype}")
    if not np.allclose(actual, expected, rtol=1e-12):
        say("DIFFERENT", "the exported model's dtype is right but its values differ")
    say("FIXED", "does not reproduce")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
