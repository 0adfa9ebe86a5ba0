"""What the sweep of further dev-profile seeds found (issue #24): the entries of
harness/known_issues.d/seed-sweep.toml, each checked by hand outside parity as its reason says
(the pinned strict xfails in suites/onnx and suites/torch_end run its minimal specs through
parity)."""

import io
import sys

import numpy as np
import pytest

from harness.core import known_issues

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SWEEP_FILE = known_issues.MORE_FILES / "seed-sweep.toml"
# The leg each entry's bug shows on, for its minimal spec.
LEGS = {
    "onnx-reference-lp-pool-ceil-mode-window": "onnx",
    "onnx2torch-slice-export-steps-as-axes": "onnx>onnx2torch>torch-onnx-ts",
    "onnx-lp-pool-ceil-mode-window-in-padding": "onnx>onnx2pytorch",
}


def test_every_entry_of_the_sweep_says_what_it_is_whose_bug_and_matches_its_own_case():
    raw = tomllib.loads(SWEEP_FILE.read_text())["issue"]
    loaded = {issue.id: issue for issue in known_issues.load(SWEEP_FILE)}
    assert sorted(loaded) == sorted(LEGS) and len(raw) == len(loaded)
    for issue in loaded.values():
        assert issue.nature in known_issues.NATURES and issue.parties, issue.id
        assert issue.minimals, issue.id
        for spec in issue.minimals:
            assert issue.matches_case(spec, LEGS[issue.id]), (issue.id, spec.case_id)
    assert not known_issues.coinciding(known_issues.load())


def _one_node(op: str, inputs, shape, initializers=(), opset=17, **attrs):
    from onnx import TensorProto, helper

    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, list(shape))], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _onnxruntime(model, x):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_the_reference_lp_pool_counts_a_ceil_mode_windows_inside_elements_kernel_times():
    pytest.importorskip("onnxruntime")
    from onnx.reference import ReferenceEvaluator

    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    for p, spec in ((2, [np.sqrt(5.0), 3.0]), (1, [3.0, 3.0])):
        model = _one_node("LpPool", ["x"], x.shape, opset=18, kernel_shape=[2], strides=[2],
                          ceil_mode=1, p=p)
        np.testing.assert_allclose(_onnxruntime(model, x).ravel(), spec, rtol=1e-6)
        # the last window holds 3 alone: its |3|^p counted twice (kernel 2 / 1 inside)
        wrong = [spec[0], (2 * 3.0 ** p) ** (1 / p)]
        evaluated = ReferenceEvaluator(model).run(None, {"x": x})[0]
        np.testing.assert_allclose(evaluated.ravel(), wrong, rtol=1e-6)


def test_an_lp_pool_window_starting_in_the_right_pad_is_dropped_by_onnxruntime_not_the_text():
    """LpPool's spec text (and onnx's shape inference) keeps it; onnxruntime and the
    reference evaluator drop it, as AveragePool's and MaxPool's text says; onnx2pytorch keeps
    it, pooling its materialised pad."""
    pytest.importorskip("onnxruntime")
    onnx2pytorch = pytest.importorskip("onnx2pytorch")
    import onnx
    import torch
    from onnx.reference import ReferenceEvaluator

    x = np.array([[[3.0, 4.0]]], np.float32)
    model = _one_node("LpPool", ["x"], x.shape, opset=18, kernel_shape=[2], strides=[2],
                      ceil_mode=1, pads=[0, 1], p=2)
    assert _onnxruntime(model, x).tolist() == [[[5.0]]]
    assert ReferenceEvaluator(model).run(None, {"x": x})[0].tolist() == [[[5.0]]]
    inferred = onnx.shape_inference.infer_shapes(model).graph.output[0].type.tensor_type.shape
    assert [d.dim_value for d in inferred.dim] == [1, 1, 2]  # ceil((2 + 1 - 2) / 2 + 1)
    module = onnx2pytorch.ConvertModel(model).eval()
    assert module(torch.from_numpy(x)).tolist() == [[[5.0, 0.0]]]


def test_onnx2torchs_exported_slice_reads_the_steps_as_axes_when_the_axes_are_left_out():
    pytest.importorskip("onnxruntime")
    onnx2torch = pytest.importorskip("onnx2torch")
    import onnx
    import torch
    from onnx import numpy_helper

    constants = [numpy_helper.from_array(np.array(v, np.int64), name)
                 for name, v in (("starts", [2]), ("ends", [-4]), ("steps", [-1]))]
    model = _one_node("Slice", ["x", "starts", "ends", "", "steps"], (3,), constants)
    x = np.array([0.0, 1.0, 2.0], np.float32)
    assert _onnxruntime(model, x).tolist() == [2.0, 1.0, 0.0]
    module = onnx2torch.convert(model).eval()
    assert module(torch.from_numpy(x)).tolist() == [2.0, 1.0, 0.0]  # right in eager mode
    buffer = io.BytesIO()
    torch.onnx.export(module, (torch.from_numpy(x),), buffer, dynamo=False,
                      input_names=["x"], opset_version=17)
    exported = onnx.load_model_from_string(buffer.getvalue())
    exported.ir_version = 8
    (node,) = [n for n in exported.graph.node if n.op_type == "Slice"]
    constant = {init.name: numpy_helper.to_array(init).tolist()
                for init in exported.graph.initializer}
    assert len(node.input) == 4 and constant[node.input[3]] == [-1]  # steps, read as axes
    assert _onnxruntime(exported, x).tolist() == []



# -- the draws the sweep corrected ----------------------------------------------------------

def _transpose_output_length(length, kernel, stride, dilation, padding, output_padding):
    """Keras' (keras/src/ops/operation_utils.py compute_conv_transpose_output_shape)."""
    dilated = (kernel - 1) * dilation + 1
    if output_padding is None:
        return length * stride + (max(dilated - stride, 0) if padding == "valid" else 0)
    pad = dilated // 2 if padding == "same" else 0
    return (length - 1) * stride + dilated - 2 * pad + output_padding


@pytest.mark.parametrize("kind", ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"])
def test_a_transposed_convolution_is_never_drawn_with_an_empty_output(kind):
    """Seed 66 of the layer suite drew Conv1DTranspose(kernel 2, strides 2, 'same',
    output_padding 0) on length 1: Keras' own output is (1, 0, 1). The first 300 derandomised
    draws held 4, 2 and 30 such cases before the draw raised those lengths."""
    from harness.golden.update import sample

    specs = sample(kind, 300)
    assert len(specs) > 250
    for spec in specs:
        attrs, shape = spec.attrs, spec.input_shapes[0]
        rank = len(attrs["kernel_size"])
        spatial = shape[2:] if attrs["data_format"] == "channels_first" else shape[1:1 + rank]
        output_padding = attrs["output_padding"] or [None] * rank
        lengths = [_transpose_output_length(*axis, attrs["padding"], pad) for axis, pad in zip(
            zip(spatial, attrs["kernel_size"], attrs["strides"], attrs["dilation_rate"]),
            output_padding)]
        assert min(lengths) > 0, spec.describe()


def test_a_group_normalization_is_never_drawn_with_groups_of_one_element():
    """Seed 111 of the ONNX suite drew groups of one element: torch's group_norm (onnx2pytorch)
    then sits up to 4.9e-5 from the exact bias, cancellation at variance 0."""
    import math

    from harness.golden.update import sample

    specs = sample("GroupNormalization", 300, source="onnx")
    assert len(specs) > 250
    for spec in specs:
        shape = spec.input_shapes[0]
        assert shape[1] // spec.attrs["num_groups"] * math.prod(shape[2:]) > 1, spec.describe()
