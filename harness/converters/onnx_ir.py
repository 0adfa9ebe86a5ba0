"""ONNX model hygiene shared by the stages that produce or consume ONNX."""

from __future__ import annotations

from harness.core.artifact import Artifact

# onnx 1.23 stamps IR version 14 on the models it builds, while onnxruntime 1.31 loads at
# most 13; IR 8 covers every opset the converters target (13 to 21).
MAX_IR_VERSION = 10
MIN_IR_VERSION = 8


def pin_ir_version(model) -> None:
    model.ir_version = max(MIN_IR_VERSION, min(model.ir_version, MAX_IR_VERSION))


def declared_shape(value) -> tuple[int | None, ...] | None:
    """An ONNX value's declared shape (None where a dimension is symbolic or unknown), or None
    where it declares none (no shape, or not a tensor)."""
    if value.type.WhichOneof("value") != "tensor_type" \
            or not value.type.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in value.type.tensor_type.shape.dim)


def rewritten(artifact: Artifact, model) -> Artifact:
    """The ONNX artifact a graph rewriter (onnxsim, onnxslim, onnxoptimizer) returns for
    ``artifact``: ``model`` with its IR version pinned, the same inputs, read as written (an
    ``ort_optimization`` the received artifact asked for is not carried over)."""
    pin_ir_version(model)
    meta = {k: v for k, v in artifact.meta.items() if k != "ort_optimization"}
    return Artifact("onnx", model, list(artifact.input_names), meta)
