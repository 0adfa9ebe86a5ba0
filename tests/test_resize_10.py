"""Resize as opsets 10 to 12 write it (``EarlyResizeGraph``; the ops source draws opsets 13 and
later). Resize-10, the first (scales an input, ``mode`` its only attribute), maps an output
coordinate to the input as x / scale (what later opsets call asymmetric): onnx2torch converts
it as half_pixel (``onnx2torch-resize-10-linear-as-half-pixel``). A user's file of it was an
unclaimed failure: an entry could not name an opset for a file's nodes, and no drawn graph
held a Resize-10. Resize-11's tf_half_pixel_for_nn (gone at 13) in linear mode is half_pixel in
both torch converters (``torch-converters-resize-linear-tf-half-pixel-for-nn``)."""

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

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.core.artifact import Artifact  # noqa: E402
from harness.core.known_issues import onnx_nodes  # noqa: E402
from harness.core.strategies import sample  # noqa: E402

PATHS = "onnx>onnx2torch,onnx>onnx2pytorch,onnx>ort-optimized"
ENTRY = "onnx2torch-resize-10-linear-as-half-pixel"


def resize_10(mode: str):
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "scales"], ["y"], mode=mode)], "resize10",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32([1.0, 1.0, 2.0, 2.0]), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])
    model.ir_version = 5
    return model


def by_hand(model):
    x = np.random.default_rng(0).random((1, 1, 4, 4), dtype=np.float32)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        converted = onnx2torch.convert(model).eval()(torch.from_numpy(x)).numpy()
    return float(np.abs(session.run(None, {"x": x})[0] - converted).max())


def checked(tmp_path, model):
    path = tmp_path / "resize10.onnx"
    onnx.save(model, path)
    return {row.leg: row for row in run_check(CheckOptions(model=path, paths=PATHS,
                                                           report=None)).rows}


def test_a_linear_resize_10_file_is_the_known_issue_of_onnx2torch_alone(tmp_path):
    model = resize_10("linear")
    assert by_hand(model) > 0.1  # the bug, by hand: half_pixel where x / scale is meant
    rows = checked(tmp_path, model)
    assert rows["onnx>onnx2torch"].verdict == "differs"
    assert (rows["onnx>onnx2torch"].known_issue or {}).get("id") == ENTRY
    assert rows["onnx>onnx2pytorch"].verdict == "agrees"
    assert rows["onnx>ort-optimized"].verdict == "agrees"


def test_a_nearest_resize_10_by_two_agrees_and_no_entry_is_named(tmp_path):
    model = resize_10("nearest")
    assert by_hand(model) == 0.0
    rows = checked(tmp_path, model)
    assert {row.verdict for row in rows.values()} == {"agrees"}
    assert all(row.known_issue is None for row in rows.values())


def test_a_file_node_carries_its_opset_as_a_drawn_node_does():
    nodes = onnx_nodes(Artifact(format="onnx", model=resize_10("linear")))
    # and the form its attributes are written in: none at its default (mode is linear)
    assert nodes == [("Resize", {"mode": "linear", "opset": 10, "form_attrs": "omitted"})]
    nearest = onnx_nodes(Artifact(format="onnx", model=resize_10("nearest")))
    assert nearest[0][1]["form_attrs"] == "default"  # mode written at its default


def test_early_resize_graphs_draw_each_opsets_form():
    by_opset: dict[int, set[tuple[str, ...]]] = {}
    for spec in sample("EarlyResizeGraph", 40, source="onnx"):
        (resize,) = [node for node in spec.attrs["nodes"] if node["kind"] == "Resize"]
        by_opset.setdefault(spec.attrs["opset"], set()).add(
            tuple(sorted(name for name in resize["attrs"] if name != "opset")))
        # Resize-10: x, scales; Resize-11: x, roi, scales (empty beside sizes)[, sizes]
        assert len(resize["inputs"]) in ((2,) if spec.attrs["opset"] == 10 else (3, 4))
    assert set(by_opset) == {10, 11, 12}
    assert by_opset[10] == {("mode",)}  # Resize-10 has no other attribute
    assert any("coordinate_transformation_mode" in names for names in by_opset[11])


def test_a_linear_resize_11_with_tf_half_pixel_for_nn_is_known_for_both_converters(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "roi", "scales", "sizes"], ["y"], mode="linear",
                          coordinate_transformation_mode="tf_half_pixel_for_nn")], "resize11",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32([]), "roi"),
         numpy_helper.from_array(np.float32([]), "scales"),
         numpy_helper.from_array(np.int64([1, 1, 6, 6]), "sizes")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    assert by_hand(model) > 0.05
    rows = checked(tmp_path, model)
    for leg in ("onnx>onnx2torch", "onnx>onnx2pytorch"):
        assert rows[leg].verdict == "differs", leg
        assert (rows[leg].known_issue or {}).get("id") == (
            "torch-converters-resize-linear-tf-half-pixel-for-nn"), leg
    assert rows["onnx>ort-optimized"].verdict == "agrees"
