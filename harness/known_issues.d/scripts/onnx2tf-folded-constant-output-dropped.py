"""onnx2tf drops a graph output that onnxsim folds to a constant: it runs onnxsim on its input,
which replaces an output that does not depend on the input's values (a LogSoftmax over an axis
of size 1 is all zeros; the Shape of a static shape is a constant) by an initializer that the
graph output names directly, with no node writing it; onnx2tf then builds its Keras model from
the nodes it converted, which hold no entry for that initializer, and returns a model with no
outputs (its SavedModel and TFLite file alike), where onnxruntime gives one.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with tensorflow, tf_keras and the onnxsim
command on PATH, which onnx2tf runs). It builds x (1, 1) > Gemm(W (1, 1), B (1), transB=1) >
LogSoftmax(axis=1) > y, and x (1, 1) > Shape > s, runs each with onnxruntime, and converts each
with onnx2tf.convert in a temporary folder. The last line says REPRODUCED (exit 1: onnx2tf
returns a model with no outputs for both, onnxruntime gives one output for each), FIXED (exit
0: both models have their output), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import os
import tempfile

import numpy as np
import onnx
import onnx2tf
from onnx import TensorProto, helper, numpy_helper
from skeleton.ort import reference
from skeleton.verdict import say

X = np.array([[0.75]], dtype=np.float32)


def gemm_logsoftmax():
    weight = numpy_helper.from_array(np.array([[0.5]], dtype=np.float32), "W")
    bias = numpy_helper.from_array(np.array([0.25], dtype=np.float32), "B")
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["h"], transB=1),
             helper.make_node("LogSoftmax", ["h"], ["y"], axis=1)]
    graph = helper.make_graph(
        nodes, "gemm_logsoftmax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], [weight, bias])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def shape():
    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"])], "shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("s", TensorProto.INT64, [2])])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


dropped = kept = 0
for name, model in (("Gemm > LogSoftmax(axis=1)", gemm_logsoftmax()), ("Shape", shape())):
    onnx.checker.check_model(model, full_check=True)
    expected = reference(model, {"x": X})
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        onnx.save(model, path)  # onnx2tf overwrites its input with the simplified model
        try:
            converted = onnx2tf.convert(input_onnx_file_path=path,
                                        output_folder_path=os.path.join(folder, "out"),
                                        output_signaturedefs=True,
                                        copy_onnx_input_output_names_to_tflite=True,
                                        non_verbose=True)
        except Exception as exc:  # noqa: BLE001
            say("DIFFERENT", f"{name}: onnx2tf raised "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        simplified = onnx.load(path).graph
        folded = sorted({init.name for init in simplified.initializer}
                        & {out.name for out in simplified.output})
        outputs = len(converted.outputs)
    print(f"{name}: onnxruntime gives {len(expected)} output {expected[0].tolist()}; onnxsim's "
          f"model has {len(simplified.node)} nodes, its outputs {folded} initializers; "
          f"onnx2tf's model has {outputs} outputs")
    if outputs == 0 and len(expected) == 1:
        dropped += 1
    elif outputs == len(expected):
        kept += 1
if dropped == 2:
    say("REPRODUCED", "onnx2tf's models have no outputs where "
                      "onnxruntime gives one")
if kept == 2:
    say("FIXED", "onnx2tf's models have their output")
say("DIFFERENT", f"{dropped} of 2 models lost their output, "
                 f"{kept} kept it")
