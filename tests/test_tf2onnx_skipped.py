"""harness.converters.tf2onnx_skipped: a tf2onnx leg is an error where tf2onnx's Python API
went on after a node's handler or a rewriter raised and the model it wrote computes the same;
a leg that fails anyway keeps its failure and notes what tf2onnx went on after."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports
from suites.installed import require

require("tensorflow", "tf2onnx", "onnxruntime",
        reason="tf2onnx converts a Keras model; onnxruntime runs it")
prepare_imports()

from harness.converters import Artifact, ConvertOptions, get, tf2onnx_skipped  # noqa: E402
from harness.core.artifact import SKIPPED_WORK  # noqa: E402
from harness.core.inputs import make_inputs  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402
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


def test_a_raising_handler_is_an_error_though_the_model_computes_the_same(mul_handler_raises):
    artifact = KerasSource().build(PRELU)
    converted = get("tf2onnx").convert(artifact, ConvertOptions())
    skipped = converted.meta[SKIPPED_WORK]
    assert "could not convert node 'parity_p_relu_1/p_relu_1/mul' (Mul)" in skipped
    assert "raised IndexError: list index out of range (planted)" in skipped
    assert "continue_on_error=True" in skipped

    # The TensorFlow Mul tf2onnx left in the graph reads as ONNX's Mul: the numbers agree
    onnx = Artifact("onnx", converted.model, converted.input_names, {})
    (got,) = runner_for("onnx", "cpu", 1).run(onnx, make_inputs(PRELU))
    np.testing.assert_allclose(got, artifact.model(make_inputs(PRELU)[0]).numpy(), rtol=1e-6)

    legs = {leg.leg: leg for leg in Harness("keras>tf2onnx>onnx2torch").run(PRELU).legs}
    own = legs["keras>tf2onnx"]
    assert (own.verdict, own.category) == ("error", "conversion_error")
    assert own.message.startswith("the model was converted past an error: tf2onnx could "
                                  "not convert node 'parity_p_relu_1/p_relu_1/mul' (Mul)")
    # onnx2torch converted the model it was given, and its numbers are its own
    assert legs["keras>tf2onnx>onnx2torch"].verdict == "pass"


def test_a_clean_conversion_of_the_same_model_skips_nothing():
    converted = get("tf2onnx").convert(KerasSource().build(PRELU), ConvertOptions())
    assert SKIPPED_WORK not in converted.meta
    (leg,) = Harness("keras>tf2onnx").run(PRELU).legs
    assert leg.verdict == "pass", leg.message


def test_a_leg_that_fails_anyway_keeps_its_known_issue_and_notes_the_skipped_node():
    """tf2onnx's Log handler cannot cast float16 (it casts double to float for onnxruntime)
    and raises; the Python API leaves TensorFlow's Log, and the model fails to load on its
    float16 IsInf, a known issue that must still recognise the leg."""
    spec = LayerSpec(kind="Softmax", attrs={"axis": [1, 2]}, input_shapes=((1, 1, 1),),
                     dtype="float16", seed=0)
    (leg,) = Harness("keras>tf2onnx").run(spec).legs
    assert leg.verdict == "xfail", leg.message
    assert leg.known_issue["id"] == "tf2onnx-isfinite-float16"
    assert "the model was also converted past an error: tf2onnx could not convert " \
           "node" in leg.note
    assert "(Log): its handler DirectOp.version_6 raised RuntimeError: don't know how to " \
           "cast type 10" in leg.note


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
    heard: list[logging.LogRecord] = []  # what the user's own handler would print
    users = logging.Handler()
    users.emit = heard.append
    quiet.addHandler(users)
    try:
        with tf2onnx_skipped.listening() as skipped:
            tf2onnx.convert.from_keras(artifact.model, input_signature=signature, opset=17,
                                       custom_rewriter=[rewrite_nothing_well])
        assert quiet.level == logging.CRITICAL
        assert not logging.getLogger("tf2onnx.tfonnx").handlers
        assert logging.getLogger("tf2onnx.tfonnx").propagate
        assert not heard, "listening let tf2onnx's errors through to a quietened logger"
    finally:
        quiet.removeHandler(users)
        quiet.setLevel(before)
    assert skipped == ["tf2onnx's rewriter rewrite_nothing_well raised ValueError: no such "
                       "input (planted)"]
    assert tf2onnx_skipped.skipped_meta(skipped * 2)[SKIPPED_WORK].startswith(
        "tf2onnx's rewriter rewrite_nothing_well raised ValueError: no such input (planted); ")
    assert tf2onnx_skipped.skipped_meta([]) == {}


def test_an_op_without_a_handler_left_in_the_graph_is_named():
    """Keras 3's argmax of floats (TensorFlow backend) checks the sign bit of zeros with
    Bitcast and BitwiseAnd, which tf2onnx has no handler for (tensorflow-onnx#1985): it logs
    them and writes them into the ONNX graph on every path, its command line's too, so the
    leg's failure said only that onnxruntime has no op Bitcast."""
    import keras

    inputs = keras.Input((6,), name="x")
    scores = keras.layers.Dense(4)(inputs)
    model = keras.Model(inputs, [scores, keras.ops.argmax(scores, axis=-1)])
    converted = get("tf2onnx").convert(Artifact("keras", model, ["x"]), ConvertOptions())
    skipped = converted.meta[SKIPPED_WORK]
    assert skipped.startswith("tf2onnx has no handler for TensorFlow's Bitcast (node "), skipped
    assert "(and 1 more: tf2onnx has no handler for TensorFlow's BitwiseAnd" in skipped
    assert "continue_on_error" not in skipped  # its command line leaves them as well
    assert {"Bitcast", "BitwiseAnd"} <= {node.op_type for node in converted.model.graph.node}


def test_an_op_without_a_handler_that_a_rewrite_removed_is_no_skipped_work():
    from onnx import helper

    found = tf2onnx_skipped.Found()
    found.unsupported["Bitcast"] = "tf2onnx has no handler for TensorFlow's Bitcast (node 'b')"
    body = helper.make_graph([helper.make_node("Bitcast", ["x"], ["y"])], "body", [], [])
    kept = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [], [])
    assert tf2onnx_skipped.skipped_meta(found, helper.make_model(kept)) == {}
    inside = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=body,
                                                 else_branch=kept)], "g", [], [])
    assert tf2onnx_skipped.skipped_meta(found, helper.make_model(inside))[SKIPPED_WORK] \
        == found.unsupported["Bitcast"]
