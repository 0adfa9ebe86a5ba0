"""onnx2tf refuses every Reduce op with noop_with_empty_axes=1 and no axes ("TensorFlow does not
support noop_with_empty_axes=1 (True)", an assertion), though ONNX defines that node as the
identity, which needs no TensorFlow support.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx
1.23 and TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds
x (float32, (3,)) -> ReduceSum(keepdims 0, noop_with_empty_axes 1, no axes) -> y at opset 18
(onnxruntime: y = x), and ReduceMax alike, with the same nodes given axes [0] as controls,
converts them with onnx2tf and runs the SavedModel. REPRODUCED: both refused with that message
and both controls converted right; FIXED: both convert and agree with onnxruntime. The last line says REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN
(exit 3).
"""

import numpy as np
from onnx import TensorProto, helper
from skeleton.onnx2tf import judge
from skeleton.onnx_build import const, model_of
from skeleton.verdict import finish

F = TensorProto.FLOAT


def reduce(op, axes):
    inputs, initializers = ["x"], []
    if axes is not None:
        inputs.append("axes")
        initializers.append(const("axes", axes))
    return model_of(
        [helper.make_node(op, inputs, ["y"], keepdims=0, noop_with_empty_axes=1)],
        [helper.make_tensor_value_info("x", F, [3])],
        [helper.make_tensor_value_info("y", F, [3] if axes is None else [])], initializers,
        opset=18)


feeds = {"x": np.array([1.5, -2.0, 3.0], np.float32)}
verdicts = [judge(f"{op}(noop_with_empty_axes=1, no axes) on x (3,)", reduce(op, None),
                  reduce(op, [0]), feeds, feeds,
                  r"TensorFlow does not support noop_with_empty_axes=1 \(True\)")
            for op in ("ReduceSum", "ReduceMax")]
finish(verdicts, "noop_with_empty_axes=1 without axes refused; with axes [0] it converts",
       "noop_with_empty_axes=1 without axes converts and agrees with onnxruntime (x itself)")
