"""Known-issue families cover what they claim: every op version of onnx's default-domain
schema list that onnx2torch has no converter for is refused as a known issue, not as a bare
"unsupported". Each (op, version) onnx2torch's registry lacks becomes a one-node model at
that opset, onnx2torch converts it (and refuses), and the refusal is matched as the pipeline
matches a leg's failure: deleting or narrowing a family entry fails this test. A dynamically
quantized model and a Flatten at opset 8, checked end to end with ``parity check``, show the
refusal tagged ``(known)``.
"""

from __future__ import annotations

import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx2torch = pytest.importorskip("onnx2torch")

import onnx  # noqa: E402
from onnx import TensorProto, defs, helper  # noqa: E402
from onnx2torch.node_converters.registry import get_converter  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.converters import Artifact  # noqa: E402
from harness.core import known_issues  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.taxonomy import classify_exception  # noqa: E402

LEG = "onnx>onnx2torch"
IR_VERSION = 8


def refused_versions() -> list[tuple[str, int]]:
    """(op, version) of onnx's default domain that onnx2torch's registry has no converter for."""
    found = []
    for schema in defs.get_all_schemas_with_history():
        if schema.domain != "" or schema.deprecated:
            continue
        try:
            get_converter(schema.name, schema.since_version)
        except NotImplementedError:
            found.append((schema.name, schema.since_version))
    return sorted(found)


def one_node(op: str, version: int, inputs: int = 1, outputs: int = 1, **attrs):
    names = [f"in{i}" for i in range(inputs)]
    node = helper.make_node(op, names, [f"out{i}" for i in range(outputs)], **attrs)
    graph = helper.make_graph(
        [node], f"{op}_{version}",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names],
        [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, None)
         for i in range(outputs)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", version)],
                             ir_version=IR_VERSION)


def onnx2torch_refusal(model) -> str:
    with pytest.raises(NotImplementedError) as refused:
        onnx2torch.convert(model)
    return f"NotImplementedError: {refused.value}"


def known_entry(issues, model, message: str) -> str | None:
    """The entry the pipeline tags this refusal with on a user's ONNX file's leg, or None."""
    spec = LayerSpec("onnx", {}, ((1,),), "float32", 0, source="file")
    received = Artifact("onnx", model, [i.name for i in model.graph.input])
    category = classify_exception("convert", message)[0]
    return next((issue.id for issue in known_issues.candidates(issues, spec, LEG, received)
                 if issue.matches_failure(category, message)), None)


def test_every_op_version_onnx2torch_refuses_is_a_known_issue():
    issues = known_issues.load()
    refused = refused_versions()
    assert ("DynamicQuantizeLinear", 11) in refused and ("Flatten", 1) in refused
    untagged = []
    for op, version in refused:
        schema = defs.get_schema(op, version)
        model = one_node(op, version, max(schema.min_input, 1 if schema.max_input else 0),
                         max(schema.min_output, 1))
        message = onnx2torch_refusal(model)
        assert f"operation_type='{op}', version={version})" in message
        if known_entry(issues, model, message) is None:
            untagged.append(f"{op}-{version}")
    assert not untagged, f"onnx2torch refuses these with no known-issue entry: {untagged}"


def dynamically_quantized():
    """A MatMul as onnxruntime.quantization.quantize_dynamic writes it: the input quantized
    on the fly, an integer matmul, the product rescaled."""
    weight = helper.make_tensor("w", TensorProto.UINT8, [3, 2], [1, 2, 3, 4, 5, 6])
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["accf", "xs"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "quantized",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
                              [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                             ir_version=IR_VERSION)


def conv_integer():
    weight = helper.make_tensor("w", TensorProto.UINT8, [1, 1, 1, 1], [2])
    node = helper.make_node("ConvInteger", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node], "conv_integer",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 1, 2, 2])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                             ir_version=IR_VERSION)


def flatten_at_opset_8():
    node = helper.make_node("Flatten", ["x"], ["y"], axis=1)
    graph = helper.make_graph([node], "old_flatten",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)],
                             ir_version=IR_VERSION)


@pytest.mark.parametrize("build, op, entry", [
    (dynamically_quantized, "DynamicQuantizeLinear", "onnx2torch-no-converter"),
    (conv_integer, "ConvInteger", "onnx2torch-no-converter"),
    (flatten_at_opset_8, "Flatten", "onnx2torch-old-op-versions"),
])
def test_parity_check_tags_the_refusal_known(tmp_path, build, op, entry):
    model = build()
    onnx.checker.check_model(model)
    assert f"operation_type='{op}'" in onnx2torch_refusal(model)  # by hand: refused
    onnx.save(model, tmp_path / "model.onnx")
    outcome = run_check(CheckOptions(model=str(tmp_path / "model.onnx"), paths=LEG,
                                     report=None))
    (row,) = outcome.rows
    assert f"operation_type='{op}'" in row.message
    assert (row.known_issue or {}).get("id") == entry


def test_the_check_fails_without_the_family_entry():
    """The first test is honest: without the old-versions family, Flatten-1 goes untagged."""
    issues = [i for i in known_issues.load() if i.id != "onnx2torch-old-op-versions"]
    model = one_node("Flatten", 1)
    assert known_entry(issues, model, onnx2torch_refusal(model)) is None
