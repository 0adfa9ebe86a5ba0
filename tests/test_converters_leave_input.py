"""A stage leaves the artifact it is given as it was: a case converts its source once and
every leg starts from that one artifact, so a stage that rewrote its input would change what
the legs after it compute (onnx2pytorch's ConvertModel fuses a MatMul and the Add after it
in the graph it is handed, and had dropped that Add from the ONNX model the ort-optimized
leg then read)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.converters import Artifact, ConvertOptions, get

pytest.importorskip("onnx2pytorch")
pytest.importorskip("onnx2torch")

ONNX_STAGES = ("onnx2torch", "onnx2pytorch", "ort-optimized")


def matmul_add():
    """x @ w + b: the pattern onnx2pytorch fuses."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal((3, 2)).astype(np.float32), "w"),
               numpy_helper.from_array(rng.standard_normal(2).astype(np.float32), "b")]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
        "matmul_add", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("stage", ONNX_STAGES)
def test_an_onnx_stage_leaves_the_model_it_converts_as_it_was(stage):
    model = matmul_add()
    before = model.SerializeToString()
    get(stage).convert(Artifact("onnx", model, ["x"]), ConvertOptions())
    assert model.SerializeToString() == before, [node.op_type for node in model.graph.node]
