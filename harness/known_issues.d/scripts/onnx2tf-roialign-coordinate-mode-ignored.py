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

import os
import re
import sys
import tempfile
import traceback

CANNOT_RUN = 3  # exit code: this machine cannot run the case (no verdict); 1 is REPRODUCED only


def cannot_run(what: str, exc: BaseException) -> int:
    """The one line of a case this machine cannot run, after the traceback (on stderr)."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    first = next((line for line in lines if line), "")
    print(f"CANNOT RUN: {what} ({type(exc).__name__}: {first[:240]}) (exit {CANNOT_RUN})",
          flush=True)
    return CANNOT_RUN


def _uncaught(kind, exc, tb):  # an exception the script did not expect: an import, most often
    if not issubclass(kind, Exception):
        return sys.__excepthook__(kind, exc, tb)
    cannot_run("importing the frameworks", exc)
    sys.stderr.flush()
    os._exit(CANNOT_RUN)


sys.excepthook = _uncaught  # Python exits 1 on an uncaught exception, and 1 says REPRODUCED

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx2tf  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

KNOWN_ISSUE = "onnx2tf-roialign-coordinate-mode-ignored"
def convert(model, name):
    """onnx2tf as its users run it: the SavedModel signature and the float32 TFLite runner."""
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, f"{name}.onnx")
    onnx.save(model, path)
    out = os.path.join(folder, "out")
    onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out, output_signaturedefs=True,
                    copy_onnx_input_output_names_to_tflite=True, non_verbose=True)
    signature = tf.saved_model.load(out).signatures["serving_default"]
    tflite = [n for n in os.listdir(out) if n.endswith("_float32.tflite")][0]
    return signature, os.path.join(out, tflite)


def onnxruntime(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def savedmodel(signature, feeds):
    return list(signature(**{k: tf.constant(v) for k, v in feeds.items()}).values())[0].numpy()


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
    signature, _ = convert(model, "roialign")
    found = savedmodel(signature, {"x": np.ascontiguousarray(x.transpose(0, 2, 3, 1))})
    found = found.transpose(0, 3, 1, 2)  # onnx2tf gives (1, 2, 3, 2): rois, H, W, C
    print(f"SavedModel,  {mode:17s} {np.round(found[0, 0], 4).tolist()}")
    return expected, found


half, found = case("half_pixel", True)
legacy, _ = case("output_half_pixel", False)
if np.allclose(found, half, atol=1e-4):
    print(f"FIXED: known issue {KNOWN_ISSUE}: half_pixel agrees with onnxruntime (exit 0)")
    sys.exit(0)
if np.allclose(found, legacy, atol=1e-4) and not np.allclose(half, legacy, atol=0.1):
    worst = float(np.max(np.abs(found - half)))
    print(f"REPRODUCED: known issue {KNOWN_ISSUE}: half_pixel RoiAlign computed as "
          f"output_half_pixel, max abs {worst:.3g} from onnxruntime (exit 1)")
    sys.exit(1)
print(f"DIFFERENT: known issue {KNOWN_ISSUE}: neither half_pixel nor output_half_pixel (exit 2)")
sys.exit(2)
