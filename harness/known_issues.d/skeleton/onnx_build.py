"""Building the ONNX models of a case."""

import numpy as np
import onnx
from onnx import helper, numpy_helper


def model_of(nodes, inputs, outputs, initializers=(), opset=21):
    """A checked model of one graph (IR version 10, which onnxruntime reads)."""
    graph = helper.make_graph(nodes, "case", inputs, outputs, list(initializers))
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    return model


def model(nodes, inputs, outputs, initializers=(), opset=17):
    """A model of one graph, unchecked (IR version 8)."""
    graph = helper.make_graph(nodes, "case", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)
