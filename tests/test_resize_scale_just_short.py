"""A user's ONNX file whose Resize scale falls a hair short of a whole output length (tf2onnx
writes float32(11 / 7) for a 7-column input resized to 11): the spec floors the exact product
(10), onnxruntime multiplies in float32 (11). The torch converters follow the spec, so their
legs differ from parity's reference, onnxruntime: ``onnxruntime-resize-output-size-in-float32``
(the reading is what is off), no longer an unclaimed converter failure."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
onnx2torch = pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core import structure  # noqa: E402

ENTRY = "onnxruntime-resize-output-size-in-float32"
PATHS = "onnx>onnx2torch,onnx>onnx2pytorch,onnx>ort-optimized"


def resize(width_scale: float):
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")], "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32([1, 1, 1, width_scale]), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def widths(model) -> dict[str, int]:
    x = np.arange(7, dtype=np.float32).reshape(1, 1, 1, 7)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        converted = onnx2torch.convert(model)(torch.from_numpy(x))
    return {"onnxruntime": session.run(None, {"x": x})[0].shape[-1],
            "reference": ReferenceEvaluator(model).run(None, {"x": x})[0].shape[-1],
            "onnx2torch": converted.shape[-1]}


def test_onnxruntime_alone_rounds_the_short_product_up():
    assert 7 * float(np.float32(11 / 7)) < 11  # the exact product falls short
    assert widths(resize(11 / 7)) == {"onnxruntime": 11, "reference": 10, "onnx2torch": 10}
    assert widths(resize(2.0)) == {"onnxruntime": 14, "reference": 14, "onnx2torch": 14}


def test_the_check_tells_a_short_scale_from_a_whole_one():
    assert structure.holds("resize-scale-just-short", resize(11 / 7), None)
    assert not structure.holds("resize-scale-just-short", resize(2.0), None)


def test_a_file_whose_resize_scale_falls_short_is_the_reference_s_known_issue(tmp_path):
    path = tmp_path / "short.onnx"
    onnx.save(resize(11 / 7), path)
    rows = {row.leg: row for row in run_check(CheckOptions(model=path, paths=PATHS,
                                                           report=None)).rows}
    for leg in ("onnx>onnx2torch", "onnx>onnx2pytorch"):
        assert rows[leg].verdict == "differs", (leg, rows[leg].message)
        assert (rows[leg].known_issue or {}).get("id") == ENTRY, (leg, rows[leg].message)
    assert rows["onnx>ort-optimized"].verdict == "agrees"


def test_the_same_file_by_a_whole_scale_agrees_on_every_leg(tmp_path):
    path = tmp_path / "whole.onnx"
    onnx.save(resize(2.0), path)
    rows = run_check(CheckOptions(model=path, paths=PATHS, report=None)).rows
    assert {row.verdict for row in rows} == {"agrees"}
