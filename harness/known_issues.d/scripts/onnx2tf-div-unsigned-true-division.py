"""onnx2tf casts an integer Div back to its integer type only for int8, int16, int32 and int64
(ops/Div.py's list): an unsigned Div (uint8 / uint8) gives the float32 quotient, not ONNX's
truncated integer quotient in uint8.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
a, b (uint8, (3,)) -> Div at opset 19, and for contrast the same in int32, converts each with
onnx2tf, and runs the SavedModel's signature and the float32 TFLite file. The last line says
REPRODUCED (exit 1: both uint8 outputs are the float32 true quotient, the int32 ones right),
FIXED (exit 0: both agree with onnxruntime in dtype and value), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""


import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def case(elem, dtype):
    graph = helper.make_graph(
        [helper.make_node("Div", ["a", "b"], ["y"])], "div",
        [helper.make_tensor_value_info(name, elem, [3]) for name in ("a", "b")],
        [helper.make_tensor_value_info("y", elem, [3])])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 19)])
    feeds = {"a": np.array([4, 9, 7], dtype), "b": np.array([7, 2, 3], dtype)}
    expected = onnxruntime(model, feeds)
    found = onnx2tf_outputs(model, feeds)
    print(f"Div {feeds['a'].tolist()} / {feeds['b'].tolist()} ({np.dtype(dtype).name})")
    print(f"  onnxruntime  {expected.tolist()} {expected.dtype}")
    for name, value in found.items():
        print(f"  {name:12s} {value.tolist()} {value.dtype}")
    return expected, found


def same(found, expected):
    return found.dtype == expected.dtype and np.array_equal(found, expected)


unsigned, unsigned_found = case(TensorProto.UINT8, np.uint8)
signed, signed_found = case(TensorProto.INT32, np.int32)
signed_ok = all(same(v, signed) for v in signed_found.values())
if signed_ok and all(same(v, unsigned) for v in unsigned_found.values()):
    say("FIXED", "uint8 Div gives uint8 as onnxruntime does")
quotient = np.array([4, 9, 7], np.float32) / np.array([7, 2, 3], np.float32)
if signed_ok and all(v.dtype == np.float32 and np.allclose(v, quotient)
                     for v in unsigned_found.values()):
    say("REPRODUCED", f"uint8 Div gives float32 "
                      f"{unsigned_found['SavedModel'].tolist()} where onnxruntime gives uint8 "
                      f"{unsigned.tolist()}; int32 is right")
say("DIFFERENT", "not the float32 true quotient")
