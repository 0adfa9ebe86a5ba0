"""onnx2tf has no converter for the ONNX op CastLike (opset 15): the conversion raises
"ModuleNotFoundError: No module named 'onnx2tf.ops.CastLike'" after logging "CastLike OP is not
yet implemented."; the same cast written as Cast(to=INT32) converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds CastLike(x (3,) float32, an int32 initializer) and Cast(x, to=INT32)
and converts both with onnx2tf. The last line says REPRODUCED (exit 1: CastLike raises that
ModuleNotFoundError, Cast converts and gives onnxruntime's [1, -2, 3]), FIXED (exit 0: both
convert and give onnxruntime's values), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say


def cast(like):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [3])
    if like:
        return model([helper.make_node("CastLike", ["x", "t"], ["y"])], [x], [y],
                     [numpy_helper.from_array(np.array(0, np.int32), "t")])
    return model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.INT32)], [x], [y])


FEEDS = {"x": np.array([1.25, -2.5, 3.75], np.float32)}
castlike, plain = cast(True), cast(False)
found_like, found_plain = convert_to_tflite(castlike), convert_to_tflite(plain)
print(f"CastLike: {said(found_like)}")
print(f"Cast: {said(found_plain)}")
plain_ok = isinstance(found_plain, str) and tflite_agrees(plain, found_plain, FEEDS)

if failed(found_like, ModuleNotFoundError, "onnx2tf.ops.CastLike") and plain_ok:
    say("REPRODUCED", "onnx2tf has no CastLike converter "
                      "(ModuleNotFoundError), the same Cast converts")
if isinstance(found_like, str) and tflite_agrees(castlike, found_like, FEEDS) and plain_ok:
    say("FIXED", "CastLike converts and gives onnxruntime's "
                 "values")
say("DIFFERENT", f"CastLike: {said(found_like)}; Cast: "
                 f"{said(found_plain)}, {'right' if plain_ok else 'wrong or failed'}")
