"""harness.converters.tf2onnx_skipped: a conversion fails where tf2onnx's Python API went on
after a node's handler or a rewriter raised, though the model it wrote may compute the same."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports
from suites.installed import require

require("tensorflow", "tf2onnx", "onnxruntime",
        reason="tf2onnx converts a Keras model; onnxruntime runs it")
prepare_imports()

from harness.converters import ConvertOptions, get  # noqa: E402
from harness.converters.tf2onnx_skipped import SkippedByTf2onnx, refusing_skipped_work  # noqa: E402
from harness.core.inputs import make_inputs  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.runtimes import runner_for  # noqa: E402
from harness.sources.keras import KerasSource  # noqa: E402

# PReLU's negative part is Mul(-alpha, relu(-x)): alpha of rank 1 first, x of rank 2 second,
# which tf2onnx's Mul handler swaps (onnx_opset/common.py, for caffe2's broadcasting)
PRELU = LayerSpec(kind="PReLU", attrs={"shared_axes": None}, input_shapes=((2, 3),),
                  dtype="float32", seed=4)


@pytest.fixture
def mul_handler_raises(monkeypatch):
    """tf2onnx's own Mul handler with a fault planted before it (as a one-line fault in
    ``BroadcastOp.version_6`` raises IndexError): every registered version of it."""
    import tf2onnx.onnx_opset  # noqa: F401  (registers the handlers)
    from tf2onnx.handler import tf_op

    def planted(handler):
        def raising(ctx, node, **kwargs):
            raise IndexError("list index out of range (planted)")
        raising.__qualname__ = f"planted {getattr(handler, '__qualname__', handler)}"
        return raising

    found = [handlers for versions in tf_op.get_opsets().values() for handlers in versions
             if "Mul" in handlers]
    assert found, "tf2onnx registers no Mul handler: the fault would plant nothing"
    for handlers in found:
        handler, kwargs = handlers["Mul"]
        monkeypatch.setitem(handlers, "Mul", (planted(handler), kwargs))


def onnx_outputs(proto, spec):
    from harness.converters import Artifact

    artifact = Artifact("onnx", proto, [i.name for i in proto.graph.input],
                        {"ort_optimization": "disable"})
    return runner_for("onnx", "cpu", 1).run(artifact, make_inputs(spec))


def test_a_raising_handler_fails_the_conversion_though_the_numbers_agree(mul_handler_raises):
    artifact = KerasSource().build(PRELU)
    with pytest.raises(SkippedByTf2onnx) as raised:
        get("tf2onnx").convert(artifact, ConvertOptions())
    message = str(raised.value)
    assert "could not convert node 'parity_p_relu_1/p_relu_1/mul' (Mul)" in message
    assert "raised IndexError: list index out of range (planted)" in message
    assert "continue_on_error=True" in message

    # What tf2onnx's Python API returns all the same: the TensorFlow Mul left in the graph
    # reads as ONNX's Mul, so only the log shows the fault
    import tensorflow as tf
    import tf2onnx

    model = artifact.model
    signature = [tf.TensorSpec((None, 3), tf.float32, name=artifact.input_names[0])]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    expected = model(make_inputs(PRELU)[0]).numpy()
    np.testing.assert_allclose(onnx_outputs(proto, PRELU)[0], expected, rtol=1e-6)


def test_a_clean_conversion_of_the_same_model_passes():
    artifact = KerasSource().build(PRELU)
    converted = get("tf2onnx").convert(artifact, ConvertOptions())
    assert "Mul" in {node.op_type for node in converted.model.graph.node}


def test_a_raising_rewriter_is_named_and_a_quietened_tf2onnx_still_heard():
    import tensorflow as tf
    import tf2onnx

    def rewrite_nothing_well(graph, ops):
        raise ValueError("no such input (planted)")

    artifact = KerasSource().build(PRELU)
    signature = [tf.TensorSpec((None, 3), tf.float32, name=artifact.input_names[0])]
    quiet = logging.getLogger("tf2onnx")
    before = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        expected = "tf2onnx's rewriter rewrite_nothing_well raised ValueError: no such input"
        with pytest.raises(SkippedByTf2onnx, match=expected), refusing_skipped_work():
            tf2onnx.convert.from_keras(artifact.model, input_signature=signature,
                                       opset=17, custom_rewriter=[rewrite_nothing_well])
        assert quiet.level == logging.CRITICAL
        assert not logging.getLogger("tf2onnx.tfonnx").handlers
    finally:
        quiet.setLevel(before)


def test_an_error_inside_the_block_is_its_own():
    with pytest.raises(KeyError), refusing_skipped_work():
        logging.getLogger("tf2onnx.tfonnx").error("rewriter %s: exception %s", print,
                                                  ValueError("x"))
        raise KeyError("the block's own")
