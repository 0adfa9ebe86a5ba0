"""The paths a file's case goes down, by the format it reads to: ``parity check``'s default
(without ``--paths``) and a replay's when none are named."""

from __future__ import annotations

# Every path that applies to a file, by the format it reads to. A stage that is not
# registered (an optional package missing) is left out with a note. ONNX legs read the model
# as written; ``ort-optimized`` reads it as onnxruntime does by default in deployment.
KERAS3_PATHS = ("keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2pytorch",
                "keras>tf2onnx>ort-optimized", "keras>keras-onnx>onnx2torch",
                "keras>keras-onnx>onnx2pytorch", "keras>keras-torch",
                # Keras → TFLite, run by LiteRT (docs/rewriters.md)
                "keras>tflite", "keras>savedmodel>tflite-savedmodel")
SAVEDMODEL_PATHS = ("savedmodel>tf2onnx-savedmodel>onnx2torch",
                    "savedmodel>tf2onnx-savedmodel>onnx2pytorch",
                    "savedmodel>tf2onnx-savedmodel>ort-optimized", "savedmodel>tflite-savedmodel")
DEFAULT_PATHS = {
    "keras": KERAS3_PATHS,
    # A Keras-2 file: tf2onnx as its users run it (from_keras on the model tf_keras reads),
    # then the Keras 3 paths after the move to Keras 3 (the migration legs, reported apart).
    "tf_keras": ("tf_keras>tf2onnx-keras2>onnx2torch", "tf_keras>tf2onnx-keras2>onnx2pytorch",
                 "tf_keras>tf2onnx-keras2>ort-optimized",
                 *(path.replace("keras>", "tf_keras>keras3>", 1) for path in KERAS3_PATHS)),
    "savedmodel": SAVEDMODEL_PATHS,
    # The ONNX simplifiers and optimizers users run before a converter (docs/rewriters.md)
    # (onnx2tf by name: --paths "onnx>onnx2tf,onnx>onnx2tf-tflite", docs/rewriters.md#onnx2tf)
    "onnx": ("onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized", "onnx>onnxsim",
             "onnx>onnxslim", "onnx>onnxoptimizer"),
    "mat": ("mat>mat2torch",),
    # A .tflite file: tf2onnx --tflite, then what users run the ONNX model with.
    "tflite": ("tflite>tf2onnx-tflite>onnx2torch", "tflite>tf2onnx-tflite>onnx2pytorch",
               "tflite>tf2onnx-tflite>ort-optimized"),
}
