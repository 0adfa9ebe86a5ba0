"""onnx2tf (1.29.24) cannot convert a GRU, LSTM or RNN node whose optional bias input B is
omitted (ONNX reads it as zeros): onnx2tf/ops/GRU.py, LSTM.py and RNN.py index B[0] whether or
not B was given, and raise "TypeError: 'NoneType' object is not subscriptable". The same GRU and
RNN with an all-zero B convert and match onnxruntime.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (and the onnxsim command it calls) and
TensorFlow. For each of GRU, LSTM and RNN it builds X (2, 3, 3) -> op(hidden_size 4, forward,
W and R seeded initializers, no B) -> Y (2, 1, 3, 4), an ordinary size (batch equal to input
size, so that onnx2tf's transposition of a rank-3 graph input does not matter), and converts it
with onnx2tf; then GRU and RNN again with a zero B (the control); it prints what the LSTM with
a zero B does (it fails further on, for its omitted initial_h: a reading, not judged). The last
line says REPRODUCED (exit 1: all three without B raise that TypeError and both controls
match onnxruntime), FIXED (exit 0: all three without B convert and match onnxruntime),
DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say

GATES = {"GRU": 3, "LSTM": 4, "RNN": 1}
STEPS, BATCH, INPUT, HIDDEN = 2, 3, 3, 4


def model(op, with_bias):
    rng = np.random.default_rng(0)
    gates = GATES[op]
    weights = {"W": rng.standard_normal((1, gates * HIDDEN, INPUT)),
               "R": rng.standard_normal((1, gates * HIDDEN, HIDDEN))}
    if with_bias:
        weights["B"] = np.zeros((1, 2 * gates * HIDDEN))
    graph = helper.make_graph(
        [helper.make_node(op, ["x", *weights], ["y"], hidden_size=HIDDEN)], op.lower(),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [STEPS, BATCH, INPUT])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [STEPS, 1, BATCH, HIDDEN])],
        initializer=[numpy_helper.from_array(value.astype(np.float32), name)
                     for name, value in weights.items()])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def convert_and_run(onnx_model, x):
    """onnx2tf's SavedModel of onnx_model run by TensorFlow on x."""
    return savedmodel(convert_signature(onnx_model)[0], {"x": x})


def attempt(op, with_bias, x):
    """('none', message) for the NoneType TypeError, ('other', message), or ('ran', difference)."""
    onnx_model = model(op, with_bias)
    onnx.checker.check_model(onnx_model, full_check=True)
    expected = onnxruntime(onnx_model, {"x": x})
    try:
        found = convert_and_run(onnx_model, x)
    except TypeError as exc:
        if "'NoneType' object is not subscriptable" in str(exc):
            return "none", f"TypeError: {exc}"
        return "other", f"TypeError: {str(exc)[:200]}"
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (onnx2tf exits on some failures)
        first = next((line for line in str(exc).splitlines() if line.strip()), "")
        return "other", f"{type(exc).__name__}: {first[:200]}"
    if found.shape != expected.shape:
        return "ran", float("inf")
    return "ran", float(np.abs(found - expected).max())


x = np.random.default_rng(1).standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
without, control = {}, {}
for op in GATES:
    without[op] = attempt(op, False, x)
    print(f"{op} without B: " + (f"onnx2tf raised {without[op][1]}" if without[op][0] != "ran"
                                 else f"converts; largest difference from onnxruntime "
                                      f"{without[op][1]:.3g}"))
for op in GATES:
    control[op] = attempt(op, True, x)
    print(f"{op} with a zero B{' (a reading)' if op == 'LSTM' else ''}: "
          + (f"onnx2tf raised {control[op][1]}" if control[op][0] != "ran"
             else f"converts; largest difference from onnxruntime {control[op][1]:.3g}"))
if all(kind == "none" for kind, _ in without.values()) \
        and all(control[op][0] == "ran" and control[op][1] < 1e-4 for op in ("GRU", "RNN")):
    say("REPRODUCED", "onnx2tf indexes the omitted B of GRU, LSTM "
                      "and RNN")
if all(kind == "ran" and diff < 1e-4 for kind, diff in without.values()):
    say("FIXED", "GRU, LSTM and RNN without B convert and match")
say("DIFFERENT", f"without B {[kind for kind, _ in without.values()]},"
                 f" controls {[control[op][0] for op in ('GRU', 'RNN')]}")
