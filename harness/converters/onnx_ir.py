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


def contradicts(declared: tuple[int | None, ...], actual: tuple[int, ...]) -> bool:
    return len(declared) != len(actual) or any(
        d is not None and d != a for d, a in zip(declared, actual))


def shape_text(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape) or "a scalar"


def outputs_declared_wrong(artifact: Artifact, received: Artifact | None, outputs) -> str:
    """Where a stage wrote an ONNX model whose graph outputs declare a shape that the model's
    own outputs (``outputs``, as its runtime returned them) contradict, what it declared and
    what it returns; "" where every declared output holds, or where the model it was given
    (``received``) declared the same contradicting shape, so the stage only kept it.

    A runtime computes past a wrong declaration, but what reads the declaration does not: a
    shape-based allocator, TensorRT's engine builder, onnx2tf, a user's own code."""
    model = artifact.model if artifact.format == "onnx" else None
    if model is None or not hasattr(model, "graph"):
        return ""
    given = (received.model if received is not None and received.format == "onnx"
             and hasattr(received.model, "graph") else None)
    given_outputs = list(given.graph.output) if given is not None else []
    found = []
    for index, (value, output) in enumerate(zip(model.graph.output, outputs)):
        declared = declared_shape(value)
        actual = getattr(output, "shape", None)
        if declared is None or actual is None or not contradicts(declared, tuple(actual)):
            continue
        kept = declared_shape(given_outputs[index]) if index < len(given_outputs) else None
        if kept is not None and contradicts(kept, tuple(actual)):
            continue
        found.append(f"output {index} ({value.name!r}) is declared {shape_text(declared)} "
                     f"but returns {shape_text(actual)}")
    if not found:
        return ""
    return ("the ONNX model this stage wrote declares its outputs wrong: " + "; ".join(found)
            + " (the values agree with the source; what reads the declared shape, an "
              "allocator, TensorRT, onnx2tf, gets the wrong one)")
