"""onnx2tf (1.29.24) cannot convert an AffineGrid whose theta, or a GridSample whose grid, is a
graph input: onnx2tf transposes every rank-3 and rank-4 graph input to channels-last (NCW >
NWC, NCHW > NHWC), and AffineGrid and GridSample then read theta (N, 2, 3), made (N, 3, 2), and
grid (N, H_out, W_out, 2), made (N, W_out, 2, H_out), as if still in ONNX's layout: AffineGrid's
MatMul fails ("Dimensions must be equal, but are 2 and 3") and GridSample's split of the last
axis into x and y fails ("Dimension size must be evenly divisible by 2 but is H_out"). The same
ops with theta or grid computed in the graph (a Reshape of a flat input) convert and match.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (and the onnxsim command it calls) and
TensorFlow. It builds, at ordinary sizes, theta (2, 2, 3) -> AffineGrid(size [2, 3, 4, 5]) ->
grid (2, 4, 5, 2) and x (1, 2, 5, 6), grid (1, 3, 4, 2) -> GridSample(bilinear, zeros) ->
y (1, 2, 3, 4), each with theta or grid a graph input and again (the controls) with it a
Reshape of a flat graph input, converts all four with onnx2tf and runs the controls. The last
line says REPRODUCED (exit 1: both graph-input forms fail to convert with those messages and
both controls match onnxruntime), FIXED (exit 0: all four convert and match onnxruntime),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def model(op, flat):
    """AffineGrid or GridSample, with theta or grid a graph input or a Reshape of a flat one."""
    if op == "AffineGrid":
        name, shape, opset = "theta", [2, 2, 3], 20
        node = helper.make_node("AffineGrid", ["theta", "size"], ["y"], align_corners=0)
        inputs, output = [], value("y", [2, 4, 5, 2])
        initializers = [numpy_helper.from_array(np.array([2, 3, 4, 5], dtype=np.int64), "size")]
    else:
        name, shape, opset = "grid", [1, 3, 4, 2], 17
        node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode="bilinear",
                                padding_mode="zeros", align_corners=0)
        inputs, output, initializers = [value("x", [1, 2, 5, 6])], value("y", [1, 2, 3, 4]), []
    nodes = [node]
    if flat:
        nodes.insert(0, helper.make_node("Reshape", [f"{name}_flat", "shape"], [name]))
        inputs.append(value(f"{name}_flat", [shape[0], int(np.prod(shape[1:]))]))
        initializers.append(numpy_helper.from_array(np.array(shape, dtype=np.int64), "shape"))
    else:
        inputs.append(value(name, shape))
    graph = helper.make_graph(nodes, op.lower(), inputs, [output], initializer=initializers)
    return helper.make_model(graph, ir_version=9, opset_imports=[helper.make_opsetid("", opset)])


def feeds(op, flat):
    rng = np.random.default_rng(0)
    if op == "AffineGrid":
        theta = rng.standard_normal((2, 2, 3)).astype(np.float32)
        return {"theta_flat": theta.reshape(2, 6)} if flat else {"theta": theta}
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1.2, 1.2, (1, 3, 4, 2)).astype(np.float32)
    return {"x": x, **({"grid_flat": grid.reshape(1, 24)} if flat else {"grid": grid})}


def convert_and_run(onnx_model, op, inputs):
    """onnx2tf's SavedModel run by TensorFlow (GridSample's x and y are NHWC there)."""
    signature, _ = convert_signature(onnx_model)
    if op == "GridSample":
        inputs = {**inputs, "x": inputs["x"].transpose(0, 2, 3, 1)}
    found = savedmodel(signature, inputs)
    return found.transpose(0, 3, 1, 2) if op == "GridSample" else found


EXPECTED = {"AffineGrid": "Dimensions must be equal, but are 2 and 3",
            "GridSample": "Dimension size must be evenly divisible by 2 but is 3"}
refused, right = [], []
for op in EXPECTED:
    for flat in (False, True):
        form = f"{op} with {'a Reshape of a flat input' if flat else 'a graph input'}"
        onnx_model = model(op, flat)
        onnx.checker.check_model(onnx_model, full_check=True)
        inputs = feeds(op, flat)
        expected = onnxruntime(onnx_model, inputs)
        try:
            found = convert_and_run(onnx_model, op, inputs)
        except (Exception, SystemExit) as exc:  # noqa: BLE001  (onnx2tf exits on some failures)
            if isinstance(exc, ValueError) and EXPECTED[op] in str(exc):
                print(f"{form}: onnx2tf raised ValueError: {EXPECTED[op]}")
                refused.append((op, flat))
                continue
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            say("DIFFERENT", f"{form}: {type(exc).__name__}: "
                             f"{first[:200]}")
        diff = float(np.abs(found - expected).max()) if found.shape == expected.shape else None
        print(f"{form}: onnx2tf converts; largest difference from onnxruntime {diff}")
        if diff is not None and diff < 1e-5:
            right.append((op, flat))
if sorted(refused) == [("AffineGrid", False), ("GridSample", False)] \
        and sorted(right) == [("AffineGrid", True), ("GridSample", True)]:
    say("REPRODUCED", "theta and grid given as graph inputs reach "
                      "AffineGrid and GridSample transposed")
if len(right) == 4:
    say("FIXED", "all four convert and match")
say("DIFFERENT", f"refused {refused}, right {right}")
