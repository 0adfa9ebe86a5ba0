"""onnx2tf builds an ONNX RoiAlign from tf.image.crop_and_resize on a grid of sampling_ratio
points per bin, then pools it, always with the sampling points of coordinate_transformation_mode
"output_half_pixel" (the legacy, unaligned RoiAlign of opset 10): it reads the attribute and
never uses it, so a RoiAlign with "half_pixel" (the default since opset 16) is half a pixel off.

Standalone: needs onnx, onnxruntime, onnx2tf 1.29.24 (installed --no-deps beside onnx 1.23 and
TensorFlow 2.21, as `parity install onnx2tf` does) and tensorflow. It builds x (float32,
(1, 2, 5, 3), seeded normal) -> RoiAlign(mode="avg", output 2x3, sampling_ratio=1,
spatial_scale=0.25, one constant ROI inside the map, coordinate_transformation_mode
"half_pixel") at opset 21, converts it with onnx2tf, runs the SavedModel's signature on x
channel-last (its output is channel-last, moved back here), and compares with onnxruntime's
half_pixel and output_half_pixel results. The TFLite file is not run: it needs the Select TF ops
runtime. The last line says REPRODUCED (exit 1: the output_half_pixel values), FIXED (exit 0:
the half_pixel values), DIFFERENT (exit 2) or CANNOT RUN (exit 3).
"""


import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say

x = np.random.default_rng(0).standard_normal((1, 2, 5, 3)).astype(np.float32)
rois = np.array([[0, 0, 8, 12]], np.float32)  # x1, y1, x2, y2: (0, 0)-(2, 3) at scale 0.25


def case(mode, convert_it):
    node = helper.make_node("RoiAlign", ["x", "rois", "batch"], ["y"], mode="avg",
                            output_height=2, output_width=3, sampling_ratio=1,
                            spatial_scale=0.25, coordinate_transformation_mode=mode)
    graph = helper.make_graph(
        [node], "roialign", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2, 3])],
        [numpy_helper.from_array(rois, "rois"),
         numpy_helper.from_array(np.zeros(1, np.int64), "batch")])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21)])
    expected = onnxruntime(model, {"x": x})
    print(f"onnxruntime, {mode:17s} {np.round(expected[0, 0], 4).tolist()}")
    if not convert_it:
        return expected, None
    signature, _ = convert_signature(model)
    found = savedmodel(signature, {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))})
    found = found.transpose(0, 3, 1, 2)  # onnx2tf gives (1, 2, 3, 2): rois, H, W, C
    print(f"SavedModel,  {mode:17s} {np.round(found[0, 0], 4).tolist()}")
    return expected, found


half, found = case("half_pixel", True)
legacy, _ = case("output_half_pixel", False)
if np.allclose(found, half, atol=1e-4):
    say("FIXED", "half_pixel agrees with onnxruntime")
if np.allclose(found, legacy, atol=1e-4) and not np.allclose(half, legacy, atol=0.1):
    worst = float(np.max(np.abs(found - half)))
    say("REPRODUCED", f"half_pixel RoiAlign computed as "
                      f"output_half_pixel, max abs {worst:.3g} from onnxruntime")
say("DIFFERENT", "neither half_pixel nor output_half_pixel")
