"""The float64 evaluation of a float16 ONNX model on its own float16 inputs and weights: the
exact result the two float16 readings of the ONNX source (onnxruntime, onnx's reference
evaluator) are measured against (``python -m harness.tools.calibrate_onnx``,
docs/dtypes.md)."""

from __future__ import annotations

import numpy as np

from harness.sources.onnx import read_evaluator


def upcast(model):
    """A copy of a float16 model computing in float64: every float16 graph input, output,
    value, initializer and Constant, and every Cast to float16, made float64."""
    import onnx
    from onnx import TensorProto, numpy_helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    graph = copy.graph
    del graph.value_info[:]
    for value in [*graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.DOUBLE
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT16:
            wide = numpy_helper.to_array(init).astype(np.float64)
            graph.initializer[i].CopyFrom(numpy_helper.from_array(wide, init.name))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                wide = numpy_helper.to_array(attr.t).astype(np.float64)
                attr.t.CopyFrom(numpy_helper.from_array(wide, attr.t.name))
            elif node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.DOUBLE
    return copy


def exact_reading(model, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The float16 model's outputs computed in float64 on its own float16 inputs and weights
    (onnx's reference evaluator on ``upcast``); None where that cannot be done."""
    wide = [x.astype(np.float64) if x.dtype == np.float16 else x for x in inputs]
    try:
        return read_evaluator(upcast(model), wide)
    except Exception:
        return None
