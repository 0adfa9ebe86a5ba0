"""onnx2tf writes a float16 ONNX model as a float32 TensorFlow model: its SavedModel's
serving_default signature and its float32 TFLite file take float32 inputs and give float32
outputs (by design since onnx2tf 1.14: "Float32 inverse conversion of Float16 models",
PINTO0309/onnx2tf#427), so a caller feeding the float16 tensors the ONNX model takes is refused
by TensorFlow ("expected to be a float tensor but is a half tensor") and by LiteRT ("Got value
of type FLOAT16 but expected type FLOAT32").

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds x, y (float16,
(2, 3)) -> Mod(fmod=1) -> z at opset 18, converts it with onnx2tf, and reads the SavedModel's
signature. The last line says REPRODUCED (exit 1: the signature takes float32 where the model
takes float16; the values it gives for the inputs cast to float32 are printed beside
onnxruntime's), FIXED (exit 0: it takes float16), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
import tensorflow as tf
from onnx import TensorProto, helper
from skeleton.onnx2tf import convert_signature
from skeleton.ort import onnxruntime
from skeleton.verdict import say

rng = np.random.default_rng(0)
x = rng.uniform(-4, 4, (2, 3)).astype(np.float16)
y = rng.uniform(1, 3, (2, 3)).astype(np.float16)
graph = helper.make_graph(
    [helper.make_node("Mod", ["x", "y"], ["z"], fmod=1)], "mod16",
    [helper.make_tensor_value_info(name, TensorProto.FLOAT16, [2, 3]) for name in ("x", "y")],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT16, [2, 3])])
model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 18)])
expected = onnxruntime(model, {"x": x, "y": y})

signature, _ = convert_signature(model)
takes = {spec.name: spec.dtype.name for spec in signature.structured_input_signature[1].values()}
print(f"the ONNX model takes float16 x, y; onnx2tf's signature takes {takes}")
if set(takes.values()) == {"float16"}:
    say("FIXED", "the signature takes float16")
if set(takes.values()) != {"float32"}:
    say("DIFFERENT", f"the signature takes {takes}")
try:
    signature(x=tf.constant(x), y=tf.constant(y))
    say("DIFFERENT", "float16 inputs were accepted")
except (tf.errors.InvalidArgumentError, TypeError, ValueError) as exc:
    print(f"fed float16: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
found = list(signature(x=tf.constant(x.astype(np.float32)), y=tf.constant(y.astype(np.float32)))
             .values())[0].numpy()
print(f"fed float32: {found.dtype} output, max abs from onnxruntime's float16 output "
      f"{float(np.max(np.abs(found - expected.astype(np.float32)))):.3g}")
say("REPRODUCED", "the float16 model takes and gives float32")
