"""ONNX model hygiene shared by the stages that produce or consume ONNX."""

from __future__ import annotations

# onnx 1.23 stamps IR version 14 on the models it builds, while onnxruntime 1.31 loads at
# most 13; IR 8 covers every opset the converters target (13 to 21).
MAX_IR_VERSION = 10
MIN_IR_VERSION = 8


def pin_ir_version(model) -> None:
    model.ir_version = max(MIN_IR_VERSION, min(model.ir_version, MAX_IR_VERSION))
