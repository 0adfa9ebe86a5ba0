# By hand: its case is a .tflite file (tflite>tf2onnx-tflite, parity check's source for a user's
# flatbuffer), which no drawn source makes: the entry has no minimal spec, and a generated script
# starts from a Keras, ONNX or .mat model, not a flatbuffer.
"""tf2onnx --tflite (tf2onnx.convert.from_tflite) drops the bias of a TFLite FULLY_CONNECTED
whose input has rank above 2 and keep_num_dims false: it reshapes the input to 2-D and
rewrites the node's inputs as (reshaped input, weights), which loses the third input, the
bias, before the Add it would have become (tflite_handlers/tfl_math.py, TflFullyConnectedOp).
The TFLite converter writes such a node where a Reshape to 2-D feeds a MatMul (tensorflow#47258
removes the Reshape): a global average pool kept 4-D, flattened, then a dense layer, as
onnx2tf writes an ONNX CNN's GlobalAveragePool > Flatten > Gemm.

Standalone: needs tensorflow, tf2onnx, onnxruntime and numpy. It converts that tf.function
with tf.lite.TFLiteConverter, checks the flatbuffer's FULLY_CONNECTED takes a 4-D input,
converts the flatbuffer with tf2onnx.convert.from_tflite and compares onnxruntime's output
with the TFLite interpreter's. The last line says REPRODUCED (exit 1: the ONNX output is off
by the bias), FIXED (exit 0: they agree), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""

import numpy as np
import onnxruntime as ort
import tensorflow as tf
import tf2onnx
from skeleton.guard import step
from skeleton.verdict import say

rng = np.random.default_rng(0)
weight = tf.constant(rng.normal(size=(3, 5)).astype("float32"))
bias = tf.constant(rng.normal(size=(5,)).astype("float32"))


@tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3], tf.float32, name="x")])
def classifier(x):
    pooled = tf.reduce_mean(x, axis=[1, 2], keepdims=True)  # 1x1x1x3
    return {"y": tf.matmul(tf.reshape(pooled, [1, 3]), weight) + bias}


step("converting with TFLiteConverter")
flat = tf.lite.TFLiteConverter.from_concrete_functions(
    [classifier.get_concrete_function()], classifier).convert()
interpreter = tf.lite.Interpreter(model_content=flat)
interpreter.allocate_tensors()
fully_connected = [op for op in interpreter._get_ops_details()
                   if op["op_name"] == "FULLY_CONNECTED"]
if not fully_connected or len(interpreter.get_tensor_details()[fully_connected[0]["inputs"][0]]
                              ["shape"]) == 2:
    say("DIFFERENT", "the TFLite converter wrote no FULLY_CONNECTED with a 4-D input")
step("converting with tf2onnx and running onnxruntime")
x = rng.normal(size=(1, 4, 4, 3)).astype("float32")
interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
interpreter.invoke()
expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
path = "fully_connected.tflite"
with open(path, "wb") as handle:
    handle.write(flat)
proto, _ = tf2onnx.convert.from_tflite(path, opset=17)
proto.ir_version = min(proto.ir_version, 8)
session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
got = session.run(None, {proto.graph.input[0].name: x})[0]
off = float(np.abs(got - expected).max())
print("ONNX ops:", [node.op_type for node in proto.graph.node], "max abs", off)
if np.allclose(expected - got, bias.numpy(), atol=1e-5):
    say("REPRODUCED", f"tf2onnx's ONNX is off by exactly the bias (max abs {off:.3g})")
if off < 1e-5:
    say("FIXED", "tf2onnx's ONNX agrees with TFLite")
say("DIFFERENT", f"off by {off:.3g}, not by the bias")
