# By hand: the stage at fault, torch.export after onnx2pytorch (*>onnx2pytorch>torch-export-
# nonstrict), takes a torch module, and the entry's minimal spec is a Keras MobileNet whose
# tf2onnx graph names its tensors "mobilenet_0.25_32/...": one ONNX node named so is enough.
"""onnx2pytorch registers each node's module under "{op_type}_{output name}", a '.' left in,
so torch.export (non-strict) and the dynamo ONNX exporter read the name as a path of
submodules and stop.

Standalone: needs numpy, onnx, onnxruntime, torch and onnx2pytorch. It builds an ONNX Conv >
Relu whose Conv output is named as tf2onnx names a Keras MobileNet's ("mobilenet_0.25/conv1:0")
and the same graph with the output named "y", converts both with onnx2pytorch, runs the
modules in eager mode against onnxruntime, then exports each with torch.export.export
(strict=False). The last line says REPRODUCED (exit 1: the dotted name's export fails with
"has no attribute" and the plain one exports), FIXED (exit 0: both export, and the programs
agree), DIFFERENT (exit 2: a module itself is wrong, or an export fails otherwise) or CANNOT
RUN (exit 3: this machine cannot run it, e.g. a framework does not import).
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.guard import guarded, step
from skeleton.verdict import KNOWN_ISSUE, say, stack_line

OPSET = 17
X = np.linspace(-1.0, 1.0, 9, dtype=np.float32).reshape(1, 1, 3, 3)
DOTTED, PLAIN = "mobilenet_0.25/conv1:0", "y"


def source_model(output: str) -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.array([1.0, -2.0], np.float32).reshape(2, 1, 1, 1), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], [output]), helper.make_node("Relu", [output], ["z"])],
        "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime reads
    return model


def main() -> int:
    import onnxruntime as ort
    import torch
    from onnx2pytorch import ConvertModel

    print(stack_line("onnx2pytorch", "torch", "onnxruntime", "onnx"))
    failed = {}
    for output in (PLAIN, DOTTED):
        model = source_model(output)
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        expected = session.run(None, {"x": X})[0]
        module = ConvertModel(model, experimental=True).eval()
        eager = module(torch.from_numpy(X)).detach().numpy()
        print(f"ONNX Conv > Relu, the Conv's output named {output!r}")
        print(f"  submodules: {[name for name, _ in module.named_children()]}")
        if not np.allclose(eager, expected, atol=1e-6):
            say("DIFFERENT", f"the module of {output!r} is wrong in eager mode, not known issue "
                             f"{KNOWN_ISSUE}")
        try:
            program = torch.export.export(module, (torch.from_numpy(X),), strict=False)
        except Exception as exc:  # noqa: BLE001 - what it says decides the verdict
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"  torch.export.export(strict=False): {type(exc).__name__}: {first[:160]}")
            failed[output] = f"{type(exc).__name__}: {first}"
            continue
        exported = program.module()(torch.from_numpy(X)).detach().numpy()
        print("  torch.export.export(strict=False): exported")
        if not np.allclose(exported, expected, atol=1e-6):
            say("DIFFERENT", f"the program exported from {output!r}'s module is wrong")
    if PLAIN in failed:
        say("DIFFERENT", f"the plainly named module does not export either: {failed[PLAIN]}")
    if DOTTED in failed:
        if "has no attribute" not in failed[DOTTED]:
            say("DIFFERENT", f"the dotted name's export fails otherwise: {failed[DOTTED]}")
        say("REPRODUCED", f"export_error: torch.export.export(strict=False) of the module whose "
                          f"submodule is named after {DOTTED!r}: {failed[DOTTED][:120]}")
    say("FIXED", "does not reproduce")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
