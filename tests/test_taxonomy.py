"""The failure taxonomy, on the messages real converters and runtimes produce."""

from __future__ import annotations

import pytest

from harness.core.taxonomy import CATEGORIES, classify_exception, unsupported_op

onnx = pytest.importorskip("onnx")


def one_node_model(op: str, elem=None):
    from onnx import TensorProto, helper

    elem = elem or TensorProto.FLOAT
    node = helper.make_node(op, ["x"], ["y"], name="n0")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", elem, [1, 2, 3])],
                              [helper.make_tensor_value_info("y", elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def error_of(call) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("expected the framework to raise")


def test_onnx2torch_missing_converter_is_an_unsupported_op():
    onnx2torch = pytest.importorskip("onnx2torch")
    message = error_of(lambda: onnx2torch.convert(one_node_model("GlobalMaxPool")))
    assert classify_exception("convert", message) == ("unsupported_op", "GlobalMaxPool")


def test_onnxruntime_unknown_op_is_an_unsupported_op_at_load():
    ort = pytest.importorskip("onnxruntime")
    message = error_of(lambda: ort.InferenceSession(
        one_node_model("Erfc").SerializeToString(), providers=["CPUExecutionProvider"]))
    assert classify_exception("load", message) == ("unsupported_op", "Erfc")


def test_onnxruntime_type_error_is_a_load_error():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto

    message = error_of(lambda: ort.InferenceSession(
        one_node_model("Relu", TensorProto.UINT8).SerializeToString(),
        providers=["CPUExecutionProvider"]))
    assert classify_exception("load", message) == ("load_error", None)


def test_other_failures_keep_the_step_they_happened_in():
    assert classify_exception("convert", "KeyError: 'keras_tensor_3'") == ("conversion_error", None)
    assert classify_exception("run", "RuntimeError: shape '[1, 2]' is invalid") == (
        "runtime_error", None)
    assert unsupported_op("Unsupported ops: Counter({'ScaleAndTranslate': 1})") == (
        "ScaleAndTranslate")
    assert unsupported_op("") is None
    assert {"crash", "timeout", "unsupported_op", "load_error"} <= set(CATEGORIES)
