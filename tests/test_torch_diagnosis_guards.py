"""Whose failure a trace's stop is, where PyTorch names the converter's line only in a data-
dependent guard's "Caused by:" line, or only in the traceback of the error an exporter wrapped:
on onnx2torch's and onnx2pytorch's real modules, each reading an ONNX constant at run time
(known issues onnx2torch- and onnx2pytorch-constant-inputs-read-at-run-time)."""

from __future__ import annotations

import pytest
import torch  # before anything imports TensorFlow

from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.runtimes.torch_diagnosis import Frame, guard_frames

pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")
pytest.importorskip("onnxruntime")


def onnx_spec(kind, operands, dtype="float32", shape=(1,), **attrs):
    return LayerSpec.from_json({
        "kind": kind, "source": "onnx", "input_shapes": [list(shape)], "dtype": dtype,
        "seed": 0, "attrs": {"opset": 17, "operands": ["in", *operands], **attrs}})


CUMSUM = onnx_spec("CumSum", [{"const": 0, "dtype": "int64"}], exclusive=0, reverse=0)
EXPAND = onnx_spec("Expand", [{"const": [2], "dtype": "int64"}], dtype="int64", shape=(2,))
# reflect mode: onnx2torch checks the batch and channel pads are zero with a set of them
PAD_REFLECT = LayerSpec.from_json({
    "kind": "Pad", "source": "onnx", "input_shapes": [[1, 1, 3]], "dtype": "float32",
    "seed": 0, "attrs": {"opset": 17, "mode": "reflect",
                         "operands": ["in", {"const": [0, 0, 1, 0, 0, 1], "dtype": "int64"}]}})


def legs(spec, paths):
    harness = Harness(paths, known_issues=[], diagnose=False)
    return {leg.leg: leg for leg in harness.run(spec).legs}


def test_a_guard_s_caused_by_line_names_the_converter_s_frame():
    onnx2torch = pytest.importorskip("onnx2torch")
    short = "onnx2torch/node_converters/cumsum.py"
    framework_only = RuntimeError(f"Could not extract specialized integer\nCaused by: "
                                  f"({short}:70 in forward)\nFor more information")
    [frame] = guard_frames(framework_only)
    assert frame.owner == "onnx2torch" and frame.line == 70 and frame.function == "forward"
    assert frame.file.startswith(str(onnx2torch.__path__[0]))
    assert "torch.cumsum" in frame.code  # read from the file, where the message gives none
    with_user = RuntimeError(
        f"x\nCaused by: axis = axis.item()  # {short}:66 in forward "
        f"(_subclasses/fake_tensor.py:1 in dispatch)\n")
    [frame] = guard_frames(with_user)
    assert (frame.line, frame.code, frame.owner) == (66, "axis = axis.item()", "onnx2torch")
    inner = RuntimeError("Caused by: (_refs/__init__.py:10 in _reshape_view_helper)")
    outer = RuntimeError("Failed to export the model")
    outer.__cause__ = inner
    [frame] = guard_frames(outer)
    assert frame.owner == "torch"  # shortened inside torch's own package
    assert guard_frames(RuntimeError("no guard here")) == []


@pytest.mark.parametrize("stage", ["torch-export-nonstrict", "torch-onnx"])
def test_a_guard_on_onnx2torch_s_run_time_axis_is_the_converter_s(stage):
    leg = f"onnx>onnx2torch>{stage}"
    result = legs(CUMSUM, leg)[leg]
    assert result.verdict == "error" and result.category == "export_error"
    assert "whose: converter (data-dependent guard)" in result.message, result.message
    assert "blocked at: onnx2torch/node_converters/cumsum.py" in result.message


def test_an_error_the_dynamo_exporter_wrapped_is_blamed_where_it_was_raised():
    paths = "onnx>onnx2torch>torch-onnx,onnx>onnx2pytorch>torch-onnx"
    found = legs(EXPAND, paths)
    for leg, line in (("onnx>onnx2torch>torch-onnx", "onnx2torch/node_converters/expand.py"),
                      ("onnx>onnx2pytorch>torch-onnx", "onnx2pytorch/operations/expand.py")):
        message = found[leg].message
        assert "whose: converter (raised in its own code)" in message, message
        assert f"blocked at: {line}" in message


def test_a_set_of_values_read_from_a_tensor_is_a_data_dependent_read():
    leg = "onnx>onnx2torch>torch-export-nonstrict"
    result = legs(PAD_REFLECT, leg)[leg]
    assert "unhashable type: non-nested SymInt" in result.message
    assert "whose: converter (data-dependent guard)" in result.message, result.message
    assert "blocked at: onnx2torch/node_converters/pad.py" in result.message


def test_the_entries_claim_what_the_diagnosis_names():
    paths = ("onnx>onnx2torch>torch-export-nonstrict,onnx>onnx2torch>torch-export,"
             "onnx>onnx2pytorch>torch-export-nonstrict")
    found = {leg.leg: leg for leg in Harness(paths, diagnose=False).run(CUMSUM).legs}
    for leg, entry in (("onnx>onnx2torch>torch-export-nonstrict", "onnx2torch-"),
                       ("onnx>onnx2torch>torch-export", "onnx2torch-"),
                       ("onnx>onnx2pytorch>torch-export-nonstrict", "onnx2pytorch-")):
        assert found[leg].verdict == "xfail", found[leg].message
        assert found[leg].known_issue["id"] == f"{entry}constant-inputs-read-at-run-time"


def test_torch_s_own_frames_are_not_the_converter_s():
    assert Frame(torch.__file__, 1, "f", "").owner == "torch"


def conv_writing(output: str):
    """onnx2pytorch's module of a one-node Conv whose output tensor is named ``output``."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from onnx2pytorch import ConvertModel

    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], [output]),
         helper.make_node("Relu", [output], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 3, 3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((2, 1, 1, 1), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return ConvertModel(model, experimental=True).eval()


def test_a_submodule_named_with_a_dot_is_the_converter_s_not_torch_s():
    from harness.runtimes.torch_diagnosis import CONVERTER, diagnose

    x = torch.ones(1, 1, 3, 3)
    torch.export.export(conv_writing("y"), (x,), strict=False)  # the same graph, named plainly
    dotted = conv_writing("mobilenet_0.25/conv1:0")
    with pytest.raises(Exception) as raised:
        torch.export.export(dotted, (x,), strict=False)
    diagnosis = diagnose(raised.value, module=dotted)
    assert (diagnosis.party, diagnosis.what) == (CONVERTER, "dotted submodule name")
    assert "`Conv_mobilenet_0.25/conv1:0`" in diagnosis.text()
    assert diagnosis.text().startswith("whose: converter (dotted submodule name): onnx2pytorch's")
    # Without the module, or with one that has no such name, the stop stays PyTorch's.
    assert diagnose(raised.value).party != CONVERTER
    assert diagnose(raised.value, module=conv_writing("y")).party != CONVERTER
