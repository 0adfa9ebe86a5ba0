"""onnx2tf's (1.29.24) RoiAlign cannot run on a feature map of height or width 1: it builds
tf.image.crop_and_resize's normalised boxes by dividing the roi's coordinates by (height - 1)
and (width - 1) (onnx2tf/ops/RoiAlign.py), which are 0 there, so the boxes hold NaN or inf and
TensorFlow refuses them at run time ("Boxes contains at least one element that is not finite").
The conversion succeeds; the SavedModel fails when run.

Standalone: needs numpy, onnx, onnxruntime, onnx2tf (and the onnxsim command it calls) and
TensorFlow. It builds x (1, 2, 1, 5), one roi [0.5, 0, 3.5, 0] -> RoiAlign(avg, 1x1 output,
sampling_ratio 2, half_pixel) -> y (1, 2, 1, 1), converts it with onnx2tf and runs the
SavedModel, then the same on x (1, 2, 5, 5) (the control, whose boxes are finite; its numbers
are printed, not judged: they differ from onnxruntime's, a separate fault). The last line says
REPRODUCED (exit 1: the height-1 model raises that InvalidArgumentError and the control runs),
FIXED (exit 0: the height-1 model runs and matches onnxruntime), DIFFERENT (exit 2) or CANNOT
RUN (exit 3).
"""


import numpy as np
import onnx
import tensorflow as tf
from onnx import TensorProto, helper, numpy_helper
from skeleton.onnx2tf import convert_signature, savedmodel
from skeleton.ort import onnxruntime
from skeleton.verdict import say


def model(height, width):
    graph = helper.make_graph(
        [helper.make_node("RoiAlign", ["x", "rois", "batch_indices"], ["y"], mode="avg",
                          output_height=1, output_width=1, sampling_ratio=2, spatial_scale=1.0,
                          coordinate_transformation_mode="half_pixel")], "roialign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, height, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 1])],
        initializer=[numpy_helper.from_array(np.array([[0.5, 0.0, 3.5, 0.0]], dtype=np.float32),
                                             "rois"),
                     numpy_helper.from_array(np.array([0], dtype=np.int64), "batch_indices")])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def convert_and_run(onnx_model, x):
    """onnx2tf's SavedModel of onnx_model run by TensorFlow on x (NCHW; the SavedModel is NHWC);
    a failed conversion raises RuntimeError, naming onnx2tf's exception."""
    try:
        signature, _ = convert_signature(onnx_model)
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (onnx2tf exits on some failures)
        raise RuntimeError(f"onnx2tf raised {type(exc).__name__}") from exc
    return savedmodel(signature, {"x": x.transpose(0, 2, 3, 1)}).transpose(0, 3, 1, 2)


results = {}
for height, width in [(1, 5), (5, 5)]:
    x = np.random.default_rng(0).standard_normal((1, 2, height, width)).astype(np.float32)
    onnx_model = model(height, width)
    onnx.checker.check_model(onnx_model, full_check=True)
    expected = onnxruntime(onnx_model, {"x": x})
    try:
        found = convert_and_run(onnx_model, x)
    except tf.errors.InvalidArgumentError as exc:
        if "Boxes contains at least one element that is not finite" in str(exc):
            print(f"x (1, 2, {height}, {width}): onnxruntime gives {expected.ravel().tolist()}; "
                  f"TensorFlow raised InvalidArgumentError: Boxes contains at least one element "
                  f"that is not finite (CropAndResize)")
            results[height] = "not finite"
            continue
        say("DIFFERENT", f"x (1, 2, {height}, {width}): "
                         f"InvalidArgumentError: {str(exc)[:200]}")
    except Exception as exc:  # noqa: BLE001
        say("DIFFERENT", f"x (1, 2, {height}, {width}): {exc}")
    right = found.shape == expected.shape and np.allclose(found, expected, atol=1e-5)
    print(f"x (1, 2, {height}, {width}): onnxruntime gives {expected.ravel().tolist()}; onnx2tf's "
          f"SavedModel gives {found.ravel().tolist()}")
    results[height] = "right" if right else ("finite" if np.isfinite(found).all() else "nan")
if results == {1: "not finite", 5: "right"} or results == {1: "not finite", 5: "finite"}:
    say("REPRODUCED", "onnx2tf's RoiAlign boxes are not finite on a "
                      "feature map of height 1")
if results[1] == "right":
    say("FIXED", "RoiAlign on a feature map of height 1 runs and "
                 "matches")
say("DIFFERENT", f"{results}")
