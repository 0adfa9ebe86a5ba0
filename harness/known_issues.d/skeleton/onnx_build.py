"""Building the ONNX models of a case."""

import numpy as np
from onnx import helper, numpy_helper


def model(nodes, inputs, outputs, initializers=(), opset=17):
    """A model of one graph, unchecked (IR version 8)."""
    graph = helper.make_graph(nodes, "case", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", opset)])


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)
