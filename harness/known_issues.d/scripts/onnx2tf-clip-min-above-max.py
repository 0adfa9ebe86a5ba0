"""onnx2tf converts an ONNX Clip with both bounds to tf.clip_by_value, which gives min where min
is greater than max; ONNX says such a Clip sets every value to max (onnxruntime does).

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does), tensorflow and ai_edge_litert. It builds
x (float32, (2, 3)) -> Clip(min=3, max=1, constant inputs) at opset 19, and for contrast the
same with min=1, max=3, converts each with onnx2tf, and runs the SavedModel's signature and the
float32 TFLite file. The last line says REPRODUCED (exit 1: both give min everywhere where
onnxruntime gives max, and the ordinary bounds are right), FIXED (exit 0: both agree with
onnxruntime), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import onnx2tf_outputs
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def case(low, high):
    graph = helper.make_graph(
        [helper.make_node("Clip", ["x", "low", "high"], ["y"])], "clip",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.array(low, np.float32), "low"),
         numpy_helper.from_array(np.array(high, np.float32), "high")])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 19)])
    feeds = {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}
    expected = onnxruntime(model, feeds)
    found = onnx2tf_outputs(model, feeds)
    print(f"Clip(min={low}, max={high}) of {feeds['x'].ravel().tolist()}")
    print(f"  onnxruntime  {expected.ravel().tolist()}")
    for name, value in found.items():
        print(f"  {name:12s} {value.ravel().tolist()}")
    return expected, found


inverted, inverted_found = case(3.0, 1.0)
ordinary, ordinary_found = case(1.0, 3.0)
ordinary_ok = all(np.array_equal(v, ordinary) for v in ordinary_found.values())
if ordinary_ok and all(np.array_equal(v, inverted) for v in inverted_found.values()):
    say("FIXED", "min > max gives max as onnxruntime does")
if ordinary_ok and np.all(inverted == 1.0) \
        and all(np.all(v == 3.0) for v in inverted_found.values()):
    say("REPRODUCED", "Clip(min=3, max=1) gives 3 (min) everywhere "
                      "where onnxruntime gives 1 (max); min=1, max=3 is right")
say("DIFFERENT", "neither max nor min everywhere")
