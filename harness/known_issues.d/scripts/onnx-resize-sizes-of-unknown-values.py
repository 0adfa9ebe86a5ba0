# By hand: onnxruntime and onnx's shape inference refuse the source model itself, so a generated
# script has no reference to embed; this builds the three forms of the graph and says which load.
"""onnx's shape inference, and onnxruntime which runs it when it loads a model, refuse a Resize
whose sizes they cannot compute, where they should leave the output's dimensions unknown.

Standalone: needs numpy, onnx and onnxruntime. It builds the graph torch.onnx writes for a
Resize by sizes taken from the input's shape, Shape -> Slice -> Concat -> Resize, three ways:
every constant an initializer (the reference), the constants listed as graph inputs beside
their initializers (keep_initializers_as_inputs), and the constants as graph inputs fed at run
time. The three are the same function. The last line says REPRODUCED (exit 1: onnxruntime or
onnx's checker refuses a form with "Number of elements of input 'sizes' (0)"), FIXED (exit 0:
every form reads and gives the reference), DIFFERENT (exit 2: another refusal or other
numbers) or CANNOT RUN (exit 3: this machine cannot run it, e.g. a framework does not import).
"""

import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skeleton.guard import guarded, step
from skeleton.onnx_build import const, model
from skeleton.ort import onnxruntime
from skeleton.verdict import KNOWN_ISSUE, say

OPSET = 17
SYMPTOM = "Number of elements of input 'sizes' (0)"
X = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
# Shape(x)[0:2] (N, C) followed by the new height and width
CONSTANTS = {"starts": np.array([0], np.int64), "ends": np.array([2], np.int64),
             "height_width": np.array([4, 4], np.int64)}


def written(form: str) -> onnx.ModelProto:
    """The graph with its constants as initializers, listed as graph inputs beside them
    ("listed") or graph inputs without them ("fed")."""
    nodes = [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Slice", ["shape", "starts", "ends"], ["batch_channels"]),
             helper.make_node("Concat", ["batch_channels", "height_width"], ["sizes"], axis=0),
             helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))]
    if form != "initializers":
        inputs += [helper.make_tensor_value_info(name, TensorProto.INT64, list(value.shape))
                   for name, value in CONSTANTS.items()]
    initializers = [] if form == "fed" else [const(name, value)
                                             for name, value in CONSTANTS.items()]
    return model(nodes, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                                [1, 1, 4, 4])],
                 initializers, opset=OPSET)


def read(form: str) -> np.ndarray:
    """onnx's full check, then onnxruntime (every optimisation off) on the form."""
    case = written(form)
    onnx.checker.check_model(case, full_check=True)
    return onnxruntime(case, {"x": X, **(CONSTANTS if form == "fed" else {})})


def main() -> int:
    print(f"{KNOWN_ISSUE}: onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    print("Shape -> Slice(starts, ends) -> Concat(height_width) -> Resize(sizes), x "
          f"{list(X.shape)} to {[1, 1, *CONSTANTS['height_width'].tolist()]}")
    expected = read("initializers")
    print(f"  expected (constants as initializers): shape {list(expected.shape)}")
    refused, other = [], []
    for form in ("listed", "fed"):
        try:
            actual = read(form)
        except Exception as exc:  # noqa: BLE001 - the refusal is the bug, judged below
            message = str(exc).strip().splitlines()[-1][:300]
            print(f"  constants {form} as graph inputs: refused: {message}")
            (refused if SYMPTOM in str(exc) else other).append(form)
            continue
        same = actual.shape == expected.shape and np.array_equal(actual, expected)
        print(f"  constants {form} as graph inputs: shape {list(actual.shape)}, "
              f"{'equal' if same else 'different'}")
        if not same:
            other.append(form)
    if other:
        say("DIFFERENT", f"{', '.join(other)} failed otherwise than known issue {KNOWN_ISSUE}")
    if refused:
        say("REPRODUCED", "source_error")
    say("FIXED", "does not reproduce")


if __name__ == "__main__":
    step("running the case")
    sys.exit(guarded(main))
