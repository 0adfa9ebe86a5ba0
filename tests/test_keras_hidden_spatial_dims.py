"""Spatial dimensions tf2onnx cannot see without their being declared free: behind a Dense on a
rank-4 input (Keras' Tensordot reshapes to a shape computed at run time).

There tf2onnx writes a 'same' pool with auto_pad SAME_UPPER instead of explicit pads, and with
strides longer than pool_size onnxruntime refuses the node where ONNX clamps the padding at 0
(``onnxruntime-pool-same-negative-pad-keras``, recognised by check
pool-same-stride-over-kernel). Found by dev seed 9010 (whole suites, oneDNN off) as an
unclaimed error; the same seed met tf2onnx-free-spatial-conv-extra-dim the same way
(tests/test_free_spatial_conv.py).
"""

from __future__ import annotations

import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.structure import pool_same_stride_over_kernel  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402

ENTRY = "onnxruntime-pool-same-negative-pad-keras"
POOL = {"kind": "MaxPooling2D", "attrs": {"pool_size": [1, 1], "strides": [1, 2],
                                          "padding": "same", "data_format": "channels_last"}}
DENSE = {"kind": "Dense", "attrs": {"units": 1, "use_bias": True, "activation": "linear"}}


def sequential(*layers) -> LayerSpec:
    return LayerSpec("Sequential", {"api": "functional", "layers": list(layers)},
                     ((1, 1, 2, 1),), seed=0)


def pool_model(op_type: str, **attrs):
    node = helper.make_node(op_type, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "pool",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("op_type", "attrs", "holds"), [
    ("MaxPool", {"auto_pad": "SAME_UPPER", "kernel_shape": [1, 1], "strides": [1, 2]}, True),
    ("AveragePool", {"auto_pad": "SAME_LOWER", "kernel_shape": [1, 3], "strides": [2, 1]}, True),
    ("MaxPool", {"auto_pad": "SAME_UPPER", "kernel_shape": [2, 2], "strides": [2, 2]}, False),
    # a dilated window of 1 + (2 - 1) * 2 = 3 spans the stride of 3
    ("MaxPool", {"auto_pad": "SAME_UPPER", "kernel_shape": [2, 2], "strides": [3, 3],
                 "dilations": [2, 2]}, False),
    ("MaxPool", {"kernel_shape": [1, 1], "strides": [1, 2]}, False),  # explicit pads
    ("LpPool", {"auto_pad": "SAME_UPPER", "kernel_shape": [1, 1], "strides": [2, 2]}, False),
], ids=["max-stride-over-kernel", "average-lower", "stride-equal-kernel", "dilated",
        "notset", "lppool-clamps"])
def test_the_check_reads_a_same_pool_whose_stride_passes_its_window(op_type, attrs, holds):
    assert pool_same_stride_over_kernel(pool_model(op_type, **attrs), None) is holds


def test_a_pool_behind_a_dense_is_the_known_refusal_and_the_pool_alone_agrees():
    behind = Harness("keras>tf2onnx").run(sequential(DENSE, POOL))
    (leg,) = behind.legs
    assert leg.verdict == "xfail", (leg.verdict, leg.message)
    assert leg.known_issue["id"] == ENTRY
    assert "padding values must be non-negative" in leg.message
    # The same pool on the model's input: tf2onnx sees its dimensions and writes pads.
    alone = Harness("keras>tf2onnx").run(sequential(POOL))
    assert [leg.verdict for leg in alone.legs] == ["pass"], alone.legs[0].message
