"""onnx2tf fails the whole conversion of an ONNX Acos, Acosh, Asin, Asinh or Atanh: it writes
the SavedModel (tf.math.acos and its kin, which TensorFlow runs right), then converts it to
TFLite with TFLITE_BUILTINS + SELECT_TF_OPS, and TensorFlow's TFLite converter has neither a
builtin nor a Select TF (Flex) kernel for these ops: "'tf.Acos' op is neither a custom op nor a
flex op"; onnx2tf.convert raises that ConverterError and returns no model.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (with tensorflow, tf_keras and the onnxsim
command on PATH, which onnx2tf runs). It builds x (1,) float32 > Acos and > Atanh (opset 17),
runs each with onnxruntime, converts each with onnx2tf.convert in a temporary folder, and runs
the SavedModel onnx2tf left behind with TensorFlow. The last line says REPRODUCED (exit 1:
onnx2tf raised that refusal for both, their SavedModels run right), FIXED (exit 0: both
convert), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import os
import tempfile

import numpy as np
import onnx
import onnx2tf
import tensorflow as tf
from onnx import TensorProto, helper
from skeleton.ort import onnxruntime
from skeleton.verdict import say

X = np.array([0.5], dtype=np.float32)


def model(op):
    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"])], op.lower(),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


OPS = ("Acos", "Atanh")
refused = converted = 0
for op in OPS:
    onnx_model = model(op)
    onnx.checker.check_model(onnx_model, full_check=True)
    expected = onnxruntime(onnx_model, {"x": X})
    with tempfile.TemporaryDirectory() as folder:
        path, out = os.path.join(folder, "model.onnx"), os.path.join(folder, "out")
        onnx.save(onnx_model, path)  # onnx2tf overwrites its input with the simplified model
        try:
            onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                            output_signaturedefs=True, copy_onnx_input_output_names_to_tflite=True,
                            non_verbose=True)
        except Exception as exc:  # noqa: BLE001
            if f"'tf.{op}' op is neither a custom op nor a flex op" not in str(exc):
                say("DIFFERENT", f"{op}: onnx2tf raised "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            saved = "no SavedModel"
            if os.path.isfile(os.path.join(out, "saved_model.pb")):
                runner = tf.saved_model.load(out).signatures["serving_default"]
                found = next(iter(runner(tf.constant(X)).values())).numpy()
                saved = f"its SavedModel gives {found.tolist()}"
                if np.allclose(found, expected, atol=1e-6):
                    refused += 1
            print(f"{op}: onnxruntime gives {expected.tolist()}; onnx2tf raised "
                  f"{type(exc).__name__}: 'tf.{op}' op is neither a custom op nor a flex op; "
                  f"{saved}")
            continue
        converted += 1
        print(f"{op}: onnx2tf converted it")
if refused == len(OPS):
    say("REPRODUCED", "onnx2tf failed the conversions in TFLite, "
                      "after writing SavedModels that run right")
if converted == len(OPS):
    say("FIXED", f"onnx2tf converts {' and '.join(OPS)}")
say("DIFFERENT", f"{refused} refused with a right SavedModel, "
                 f"{converted} converted, of {len(OPS)}")
