"""onnxruntime's reading of a case's ONNX model: the reference the converters are held to."""

import onnxruntime as ort


def session_of(model):
    """The model as written, as parity reads a reference: every graph optimisation off."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3  # its warnings (a constant listed as an input) are no verdict
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def onnxruntime(model, feeds):
    """The first output."""
    return session_of(model).run(None, feeds)[0]
