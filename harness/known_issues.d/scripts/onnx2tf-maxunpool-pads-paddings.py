"""onnx2tf (1.29.24) cannot convert a MaxUnpool that has a pads attribute (all zeros included) or
an output_shape input: onnx2tf/ops/MaxUnpool.py writes the paddings for tf.pad as
[0, 0, [begin, end], ..., 0, 0], a flat list with pairs nested inside, which TensorFlow cannot
make a tensor of ("Tried to convert 'paddings' to a tensor and failed"). The same MaxUnpool
with neither converts.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (and the onnxsim command it calls) and
TensorFlow. It builds x (1, 1, 3, 3) -> MaxUnpool(kernel 2, stride 2, the indices a 2x2 MaxPool
of a (1, 1, 6, 6) map could give) -> y (1, 1, 6, 6) three ways: with pads [0, 0, 0, 0], with an
output_shape input [1, 1, 6, 6], and with neither (the control), and converts each with onnx2tf.
The last line says REPRODUCED (exit 1: the first two fail to convert with that message and the
control converts), FIXED (exit 0: all three convert and match onnxruntime), DIFFERENT (exit 2)
or CANNOT RUN (exit 3). One channel: with two, the control converts but scatters the values
elsewhere (onnx2tf reads the NCHW indices as NHWC ones), a separate fault this does not judge.
"""


import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def model(pads, output_shape):
    # the index of the bottom-left element of each 2x2 window of a (1, 1, 6, 6) map, flattened
    rows, cols = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    indices = np.stack([c * 36 + (2 * rows + 1) * 6 + 2 * cols for c in range(1)])[None]
    inputs, initializers = ["x", "indices"], [numpy_helper.from_array(indices.astype(np.int64),
                                                                      "indices")]
    if output_shape is not None:
        inputs.append("output_shape")
        initializers.append(numpy_helper.from_array(np.array(output_shape, dtype=np.int64),
                                                    "output_shape"))
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    if pads is not None:
        attrs["pads"] = pads
    graph = helper.make_graph(
        [helper.make_node("MaxUnpool", inputs, ["y"], **attrs)], "maxunpool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 6, 6])],
        initializer=initializers)
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def convert_and_run(onnx_model, x):
    """onnx2tf's SavedModel of onnx_model run by TensorFlow on x (NCHW; the SavedModel is NHWC)."""
    signature, _ = convert_signature(onnx_model)
    return savedmodel(signature, {"x": x.transpose(0, 2, 3, 1)}).transpose(0, 3, 1, 2)


x = np.random.default_rng(0).standard_normal((1, 1, 3, 3)).astype(np.float32)
refused = converted = right = 0
for name, pads, output_shape in [("pads [0, 0, 0, 0]", [0, 0, 0, 0], None),
                                 ("output_shape [1, 1, 6, 6]", None, [1, 1, 6, 6]),
                                 ("neither (control)", None, None)]:
    onnx_model = model(pads, output_shape)
    onnx.checker.check_model(onnx_model, full_check=True)
    expected = onnxruntime(onnx_model, {"x": x})
    try:
        found = convert_and_run(onnx_model, x)
    except ValueError as exc:
        if "Tried to convert 'paddings' to a tensor and failed" in str(exc):
            print(f"MaxUnpool with {name}: onnx2tf raised ValueError: Tried to convert "
                  f"'paddings' to a tensor and failed")
            refused += name != "neither (control)"
            continue
        say("DIFFERENT", f"{name}: ValueError: {str(exc)[:200]}")
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (onnx2tf exits on some failures)
        say("DIFFERENT", f"{name}: {type(exc).__name__}: "
                         f"{str(exc)[:200]}")
    converted += 1
    diff = float(np.abs(found - expected).max()) if found.shape == expected.shape else None
    print(f"MaxUnpool with {name}: onnx2tf converts; largest difference from onnxruntime "
          f"{diff}")
    right += diff is not None and diff < 1e-6
if refused == 2 and converted == 1:
    say("REPRODUCED", "onnx2tf cannot build tf.pad's paddings for "
                      "a MaxUnpool with pads or output_shape")
if right == 3:
    say("FIXED", "all three MaxUnpool forms convert and match")
say("DIFFERENT", f"{refused} refused, {converted} converted, {right} "
                 f"right")
