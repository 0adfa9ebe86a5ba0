# By hand: the entry holds only where torchvision is imported before onnx2torch, an order
# parity's own processes do not take (harness.core.frameworks), so no generated script, which
# imports in parity's order, reaches it.
"""onnx2torch's modules with an ONNX export of their own read a private attribute of the
symbolic_helper module they bound at import, and torchvision imported first hands them torch's
public module, which lacks it.

Standalone: needs numpy, onnx, onnxruntime, torch, torchvision and onnx2torch. It imports
torchvision before onnx2torch (as a script that uses both at the top does), builds a one-node
ONNX Shape of a (1, 1, 2, 2) input, converts it with onnx2torch, runs the module and exports it
with the TorchScript exporter. onnxruntime on the source model is the expected output. The last
line says REPRODUCED (exit 1: the export stops with the AttributeError), FIXED (exit 0: the
export goes on and onnxruntime runs what it wrote right), DIFFERENT (exit 2: the module itself
is wrong, or the export fails otherwise) or CANNOT RUN (exit 3: this machine cannot run it,
e.g. a framework does not import).
"""

import io
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from skeleton.guard import guarded, step
from skeleton.onnx_build import model
from skeleton.ort import session_of
from skeleton.verdict import KNOWN_ISSUE, say, stack_line

OPSET = 17
X = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
MISSING = "_export_onnx_opset_version"


def source_model() -> onnx.ModelProto:
    return model([helper.make_node("Shape", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
                 [helper.make_tensor_value_info("y", TensorProto.INT64, None)], opset=OPSET)


def run(graph: onnx.ModelProto) -> np.ndarray:
    session = session_of(graph)
    # an export may fold the shape of a static input to a constant and drop the input
    return session.run(None, {feed.name: X for feed in session.get_inputs()})[0]


def main() -> int:
    # torchvision before onnx2torch: the order this entry needs, not the alphabet's
    import torch  # noqa: I001
    import torchvision  # noqa: F401
    import onnx2torch

    print(stack_line("onnx2torch", "torch", "torchvision", "onnxruntime", "onnx"))
    bound = getattr(sys.modules.get("onnx2torch.utils.common"), "symbolic_helper", None)
    print(f"onnx2torch bound symbolic_helper from {getattr(bound, '__name__', 'nowhere')}")
    source = source_model()
    expected = run(source)
    print(f"ONNX Shape of a {X.shape} input, opset {OPSET}")
    print(f"  expected (onnxruntime on the source model): {expected}")
    module = onnx2torch.convert(source).eval()
    eager = np.asarray(module(torch.from_numpy(X)))
    print(f"  onnx2torch module, eager:                   {eager}")
    if not np.array_equal(eager, expected):
        say("DIFFERENT", f"the module itself is wrong, not known issue {KNOWN_ISSUE}")
    buffer = io.BytesIO()
    try:
        torch.onnx.export(module, (torch.from_numpy(X),), buffer, dynamo=False,
                          input_names=["x"], opset_version=OPSET)
    except AttributeError as exc:
        if MISSING in str(exc):
            say("REPRODUCED", f"torch.onnx.export(dynamo=False) failed: AttributeError: {exc}")
        say("DIFFERENT", f"torch.onnx.export failed: AttributeError: {exc}")
    except Exception as exc:  # noqa: BLE001 - any other export failure is another bug
        say("DIFFERENT", f"torch.onnx.export failed: {type(exc).__name__}: {exc}")
    exported = onnx.load_model_from_string(buffer.getvalue())
    exported.ir_version = 8
    actual = run(exported)
    print(f"  actual (onnxruntime on the exported model): {actual}")
    if not np.array_equal(actual, expected):
        say("DIFFERENT", "the export went on, and its model's output differs")
    say("FIXED", "the export goes on and its model agrees")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
