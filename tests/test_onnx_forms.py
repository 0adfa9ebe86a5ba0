"""The forms a drawn ONNX model is written in (harness.sources.onnx.forms): each keeps the
model valid and its readings those of the form every case had before; each really writes what
it says; a spec that names none builds as before; the ci corpus holds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.core import registry
from harness.core.onnx_schema import schema
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.core.tolerance import TolerancePolicy
from harness.sources import SourceError
from harness.sources.onnx import OnnxSource, forms
from harness.sources.onnx.build import FORM_ATTRS, FORM_KEYS, FORM_OPERANDS, FORM_OPSET
from harness.sources.onnx.exported import build_exported

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
INT64 = "int64"


def weight(shape, role="kernel"):
    return {"weight": shape, "role": role}


def const(values, dtype=INT64):
    return {"const": values, "dtype": dtype}


def onnx_spec(kind, attrs, shapes, dtype="float32", seed=3):
    return LayerSpec(kind, {"opset": 17, **attrs}, tuple(tuple(s) for s in shapes), dtype=dtype,
                     seed=seed, source="onnx")


# One spec per kind the forms change most; each has attributes at and away from their
# defaults and operands that are not the data (weights, an axis, a shape, pads, scales).
CONV = onnx_spec("Conv", {"kernel_shape": [2, 2], "pads": [1, 0, 0, 1], "group": 1,
                          "operands": ["in", weight([3, 2, 2, 2]), weight([3], "bias")]},
                 [(2, 2, 4, 5)])
CUMSUM = onnx_spec("CumSum", {"exclusive": 0, "reverse": 0, "operands": ["in", const(1)]},
                   [(2, 3)])
INSTANCE_NORM = onnx_spec("InstanceNormalization", {
    "epsilon": 1e-5, "operands": ["in", weight([3], "scale"), weight([3], "beta")]},
    [(2, 3, 4, 5)])
RESHAPE = onnx_spec("Reshape", {"allowzero": 0, "operands": ["in", const([2, -1, 5])]},
                    [(2, 3, 4, 5)])
EXPAND = onnx_spec("Expand", {"operands": ["in", const([2, 3, 4])]}, [(2, 1, 4)])
PAD = onnx_spec("Pad", {"mode": "reflect", "operands": ["in", const([0, 1, 0, 2])]}, [(2, 4)])
RESIZE = onnx_spec("Resize", {"mode": "linear", "coordinate_transformation_mode": "half_pixel",
                              "operands": ["in", "", const([1.0, 1.0, 2.0, 1.5], "float32")]},
                   [(1, 2, 3, 4)])
SPECS = [CONV, CUMSUM, INSTANCE_NORM, RESHAPE, EXPAND, PAD, RESIZE]


def read(spec):
    return OnnxSource().read(spec, policy=TolerancePolicy())


def in_form(spec, **chosen):
    return replace(spec, attrs={**spec.attrs, **chosen})


def run_onnxruntime(model, inputs):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3  # an initializer listed as an input is the form, not a slip
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


def applicable(spec, key):
    """The forms of ``key`` that change ``spec``'s model, as the draw offers them."""
    nodes = forms.spec_nodes(spec.attrs, spec.input_shapes, spec.kind)
    opset = spec.attrs["opset"]
    if key == FORM_ATTRS:
        return forms.attribute_forms(nodes, opset)[1:]
    if key == FORM_OPERANDS:
        return forms.operand_forms(nodes, opset)[1:]
    return forms.opset_forms(nodes, opset, forms.INITIALIZER)[1:]


CASES = [(spec, key, form) for spec in SPECS for key in sorted(FORM_KEYS)
         for form in applicable(spec, key)]


@pytest.mark.parametrize(("spec", "key", "form"), CASES,
                         ids=[f"{s.kind}-{form}" for s, _key, form in CASES])
def test_each_form_is_valid_and_reads_as_the_first_form(spec, key, form):
    """The model in the form passes onnx's full check, and onnxruntime gives the first
    form's outputs on the same inputs (equal to the last bit but where onnxruntime picks
    another kernel for a weight it cannot pre-pack: a run-time operand)."""
    before, after = read(spec), read(in_form(spec, **{key: form}))
    onnx.checker.check_model(after.artifact.model, full_check=True)
    assert all(np.array_equal(a, b) for a, b in zip(before.inputs, after.inputs))
    again = run_onnxruntime(after.artifact.model, after.inputs)
    for first, written, reference in zip(before.reference, again, after.reference):
        assert written.shape == first.shape and written.dtype == first.dtype
        np.testing.assert_allclose(written, first, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(written, reference)


def test_the_draw_offers_the_forms_that_change_each_spec():
    assert applicable(CUMSUM, FORM_ATTRS) == [forms.OMITTED]  # both attributes drawn
    # group=1 is its default; auto_pad and dilations, among others, are left out
    assert applicable(CONV, FORM_ATTRS) == [forms.OMITTED, forms.DEFAULT]
    assert applicable(RESHAPE, FORM_ATTRS) == [forms.OMITTED]
    assert applicable(CONV, FORM_OPERANDS) == [forms.CONSTANT, forms.INPUT, forms.FED]
    assert applicable(RESHAPE, FORM_OPERANDS)[-1] == forms.SHAPE  # 2 and 5 are dimensions
    assert forms.SHAPE not in applicable(PAD, FORM_OPERANDS)  # pads are no shape
    assert forms.LOWEST in applicable(CONV, FORM_OPSET)  # Conv-11 holds from opset 11


def node(model, op_type):
    (found,) = [n for n in model.graph.node if n.op_type == op_type]
    return found


def test_the_omitted_form_leaves_out_every_attribute_at_its_default():
    model = read(in_form(CUMSUM, form_attrs=forms.OMITTED)).artifact.model
    assert list(node(model, "CumSum").attribute) == []
    model = read(in_form(CONV, form_attrs=forms.DEFAULT)).artifact.model
    written = {a.name: onnx.helper.get_attribute_value(a) for a in node(model, "Conv").attribute}
    assert written["auto_pad"] == b"NOTSET" and written["pads"] == [1, 0, 0, 1]
    assert set(schema("Conv", 17).attributes) - {"kernel_shape", "dilations", "strides"} \
        <= set(written)  # every attribute with a default is written


def test_the_graph_input_forms_list_the_operands_as_graph_inputs():
    fed = read(in_form(INSTANCE_NORM, form_operands=forms.FED))
    model = fed.artifact.model
    assert [i.name for i in model.graph.input] == ["input_0", "w0_scale", "w1_beta"]
    assert not model.graph.initializer and len(fed.inputs) == 3
    assert fed.artifact.input_names == ["input_0", "w0_scale", "w1_beta"]
    listed = read(in_form(INSTANCE_NORM, form_operands=forms.INPUT))
    model = listed.artifact.model
    assert [i.name for i in model.graph.input] == ["input_0", "w0_scale", "w1_beta"]
    assert [t.name for t in model.graph.initializer] == ["w0_scale", "w1_beta"]
    assert len(listed.inputs) == 1 and listed.artifact.input_names == ["input_0"]
    np.testing.assert_array_equal(fed.inputs[1], onnx.numpy_helper.to_array(
        model.graph.initializer[0]))


def test_the_constant_and_shape_forms_write_nodes():
    model = read(in_form(CONV, form_operands=forms.CONSTANT)).artifact.model
    assert [n.op_type for n in model.graph.node] == ["Constant", "Constant", "Conv"]
    assert not model.graph.initializer
    model = read(in_form(RESHAPE, form_operands=forms.SHAPE)).artifact.model
    # [2, -1, 5] on (2, 3, 4, 5): the 2 is the data's first dimension, the rest constants
    assert [n.op_type for n in model.graph.node] == ["Shape", "Gather", "Concat", "Reshape"]
    model = read(in_form(EXPAND, form_operands=forms.SHAPE)).artifact.model
    assert [n.op_type for n in model.graph.node] == ["Shape", "Gather", "Gather", "Concat",
                                                     "Expand"]


def test_a_free_batch_is_never_taken_from_the_shape():
    values = np.array([2, -1, 5])
    assert forms.from_shape(values, (2, 3, 4, 5), free=False) == [0]
    assert forms.from_shape(values, (2, 3, 4, 5), free=True) == []
    assert forms.from_shape(np.array([2, 3, 4]), (2, 3, 4), free=True) == [1, 2]


@pytest.mark.parametrize("form", [forms.LOWEST, forms.NEWEST])
def test_the_opset_forms_keep_every_node_at_its_version(form):
    spec = in_form(CONV, form_opset=form, form_operands=forms.CONSTANT)
    model = read(spec).artifact.model
    declared = forms.declared_opset(model)
    assert declared == (11 if form == forms.LOWEST else 21)  # Conv-11 until Conv-22
    assert schema("Conv", declared).since_version == schema("Conv", 17).since_version
    model = read(in_form(CUMSUM, form_opset=form)).artifact.model
    assert forms.declared_opset(model) == (14 if form == forms.LOWEST else 26)


def test_a_spec_without_forms_builds_as_before():
    """The transform is the identity without form keys, and every ONNX golden case of the
    kinds above, stored before forms existed, rebuilds to its stored model byte for byte."""
    model = object()
    assert forms.write(model, dict(CONV.attrs)) == (model, [])
    root = ROOT / "golden" / "cases"
    kinds = {spec.kind for spec in SPECS} | {"ConvBnRelu", "ResizeGraph", "PadConv"}
    checked = 0
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        spec_file = folder / "spec.json"
        if not (folder / "model.onnx").exists() or not spec_file.exists():
            continue
        spec = LayerSpec.from_json(json.loads(spec_file.read_text(encoding="utf-8")))
        if spec.source != "onnx" or spec.kind not in kinds or FORM_KEYS & set(spec.attrs):
            continue
        built = read(spec).artifact.model.SerializeToString()
        assert built == (folder / "model.onnx").read_bytes(), folder.name
        checked += 1
    if checked == 0:
        pytest.skip("no ONNX golden cases of these kinds in this checkout")


def test_drawn_specs_of_every_form_read():
    """Drawn specs name a form only where it changes the model, and each reads."""
    drawn = {}
    for kind in ("CumSum", "InstanceNormalization", "Reshape", "ConvBnRelu", "Relu"):
        for spec in sample(kind, 12, source="onnx"):
            for key in FORM_KEYS & set(spec.attrs):
                drawn.setdefault((kind, key), set()).add(spec.attrs[key])
            read(spec)
    assert (("Relu", FORM_OPERANDS) not in drawn) and (("Relu", FORM_ATTRS) not in drawn)
    held = {form for (_kind, key), found in drawn.items() for form in found}
    assert {forms.OMITTED, forms.DEFAULT, forms.CONSTANT, forms.INPUT, forms.FED, forms.LOWEST,
            forms.NEWEST} <= held


def test_an_unknown_form_is_a_one_line_source_error():
    with pytest.raises(SourceError, match="form_operands 'nowhere' is none of initializer"):
        read(in_form(CUMSUM, form_operands="nowhere"))


def test_every_kind_declares_its_forms_as_attributes():
    for kind in registry.kinds("onnx"):
        if kind.build_model is build_exported:
            continue  # torch.onnx.export writes the graph: its forms are the exporter's
        assert FORM_OPSET in kind.attribute_domains, kind.name
    assert registry.get("TorchExported", "onnx").build_model is build_exported
    assert FORM_OPERANDS not in registry.get("Relu", "onnx").domains
    assert FORM_OPERANDS in registry.get("Conv", "onnx").attribute_domains


CI_KINDS = ("CumSum", "InstanceNormalization", "Conv", "Reshape", "Pad")


def test_the_ci_corpus_holds_omitted_attributes_and_run_time_operands(tmp_path):
    """The ci profile's derandomised examples of a few kinds, drawn as the suite draws them
    (the draw recorder: nothing runs), hold attributes omitted at their defaults and
    operands fed as graph inputs, and each is drawn along the forms like any attribute."""
    env = {**os.environ, "PARITY_DRAW_OUT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-p", "harness.tools.draw_recorder",
               "suites/onnx/test_ops.py", "-k", f"test_op and ({' or '.join(CI_KINDS)})",
               "--hypothesis-profile=ci", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
               "--parity-report", "none"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    recorded = tmp_path / "ci-specs.jsonl"
    assert recorded.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    specs = [json.loads(line)["spec"] for line in recorded.read_text().splitlines()]
    held = {(key, spec["attrs"][key]) for spec in specs for key in FORM_KEYS
            if key in spec.get("attrs", {})}
    assert (FORM_ATTRS, forms.OMITTED) in held
    assert (FORM_OPERANDS, forms.FED) in held and (FORM_OPERANDS, forms.INPUT) in held
    assert {spec["kind"] for spec in specs} >= set(CI_KINDS)


@pytest.mark.parametrize("op_type", ["Resize", "Conv", "Pad", "Relu", "NoSuchOp"])
def test_an_op_s_versions_are_the_opsets_its_schemas_start_at(op_type):
    from onnx import defs

    from harness.sources.onnx.forms import _versions

    wanted = sorted({s.since_version for s in defs.get_all_schemas_with_history()
                     if s.name == op_type and s.domain == ""})
    assert list(_versions(op_type)) == wanted


def test_an_opset_range_keeps_each_op_at_the_version_it_has():
    from harness.sources.onnx.forms import opset_range

    # Resize changed at 13 and 18, Relu at 14: at 17 both hold from 14 to 17.
    assert opset_range(["Resize", "Relu"], 17, floor=7) == (14, 17)
