"""onnx2tf's Clip converter writes no TensorFlow op for a Clip that has neither a min nor a
max (both inputs omitted or given as '', or an opset-6 Clip without its min and max
attributes): it matches relu6, relu, clip_by_value, maximum and minimum only, so the output
has no tensor and the conversion raises "KeyError: 'tf_node'". ONNX reads such a Clip as the
identity; a Clip with a min or a max alone converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with TensorFlow, tf_keras, onnxsim) and
ai_edge_litert. It builds Clip(x) and Clip(x, '', '') at opset 17, and Clip(x, min=-1) as the
control, on x (3,), and converts them with onnx2tf. The last line says REPRODUCED (exit 1: the
two without bounds raise KeyError: 'tf_node', the control converts and gives onnxruntime's
[-1, 0.5, 2]), FIXED (exit 0: all three convert and give onnxruntime's values), DIFFERENT
(exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_to_tflite, failed, said, tflite_agrees
from skeleton.onnx_build import model
from skeleton.verdict import say


def clip(inputs):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    lower = [numpy_helper.from_array(np.array(-1, np.float32), "lo")] if "lo" in inputs else []
    return model([helper.make_node("Clip", inputs, ["y"])], [x], [y], lower)


FEEDS = {"x": np.array([-2.5, 0.5, 2.0], np.float32)}
cases = {"Clip(x)": clip(["x"]), "Clip(x, '', '')": clip(["x", "", ""]),
         "Clip(x, min=-1)": clip(["x", "lo"])}
found = {case: convert_to_tflite(onnx_model) for case, onnx_model in cases.items()}
for case, result in found.items():
    print(f"{case}: {said(result)}")
right = {case: isinstance(result, str) and tflite_agrees(cases[case], result, FEEDS)
         for case, result in found.items()}

unbounded = ["Clip(x)", "Clip(x, '', '')"]
if all(failed(found[case], KeyError, "tf_node") for case in unbounded) and right["Clip(x, min=-1)"]:
    say("REPRODUCED", "onnx2tf raised KeyError: 'tf_node' on a Clip "
                      "without min and max; Clip with a min converts")
if all(right.values()):
    say("FIXED", "every Clip converts and gives onnxruntime's "
                 "values")
say("DIFFERENT", ""
                 + "; ".join(f"{case}: {said(result)}" for case, result in found.items()) + "")
