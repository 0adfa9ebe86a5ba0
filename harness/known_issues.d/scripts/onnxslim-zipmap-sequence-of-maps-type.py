# By hand: its model, an ai.onnx.ml LinearClassifier > ZipMap whose output is a sequence of maps,
# is no case a parity source draws (parity check met it on a user's file): the entry has no
# minimal spec, so there is no case to generate a script from.
"""onnxslim rewrites a ZipMap's output type, a sequence of maps (what skl2onnx writes for a
classifier's probabilities), as a sequence of tensors of element type 0 (undefined), which
onnxruntime refuses to load ("Invalid tensor data type 0").

Standalone: needs onnx, onnxslim and onnxruntime. It builds an ai.onnx.ml LinearClassifier >
ZipMap (three string labels), checks that onnxruntime loads it, slims it and loads the result.
The last line says REPRODUCED (exit 1: the slimmed model is refused for that type), FIXED
(exit 0: it loads), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import onnxruntime as ort
import onnxslim
from onnx import TensorProto, helper
from skeleton.verdict import say

ML = "ai.onnx.ml"
labels = ["a", "b", "c"]
nodes = [helper.make_node("LinearClassifier", ["x"], ["label", "probability_tensor"], domain=ML,
                          coefficients=[0.5, -0.2, 0.1, 0.3, 0.2, -0.4, -0.1, 0.6, 0.2],
                          intercepts=[0.1, -0.1, 0.0], post_transform="SOFTMAX",
                          classlabels_strings=labels),
         helper.make_node("ZipMap", ["probability_tensor"], ["probabilities"], domain=ML,
                          classlabels_strings=labels)]
outputs = [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
           helper.make_value_info("probabilities", helper.make_sequence_type_proto(
               helper.make_map_type_proto(TensorProto.STRING,
                                          helper.make_tensor_type_proto(TensorProto.FLOAT, []))))]
graph = helper.make_graph(nodes, "logistic_regression",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                          outputs)
model = helper.make_model(graph, ir_version=8, opset_imports=[
    helper.make_opsetid("", 17), helper.make_opsetid(ML, 1)])


def load(m):
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])


load(model)
slimmed = onnxslim.slim(model)
print("probabilities after onnxslim.slim:",
      str(slimmed.graph.output[1].type).replace("\n", " "))
try:
    load(slimmed)
except Exception as exc:  # noqa: BLE001
    if "Invalid tensor data type 0" in str(exc):
        say("REPRODUCED", "onnxruntime refuses the slimmed model's output type")
    say("DIFFERENT", f"{type(exc).__name__}: {str(exc)[:200]}")
say("FIXED", "the slimmed model loads")
