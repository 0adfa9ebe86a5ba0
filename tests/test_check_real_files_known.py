"""Known-issue families cover what they claim: every op version of onnx's default-domain
schema list that onnx2torch has no converter for, and every op version, attribute and op of
onnxruntime's com.microsoft domain that onnx2pytorch refuses, is refused as a known issue, not
as a bare "unsupported". Each becomes a one-node model, the converter converts it (and
refuses), and the refusal is matched as the pipeline matches a leg's failure: deleting or
narrowing a family entry fails these tests. A dynamically quantized model and a Flatten at
opset 8 (onnx2torch), and a model quantized by onnxruntime in its QOperator format
(onnx2pytorch), checked end to end with ``parity check``, show the refusal tagged ``(known)``.
"""

from __future__ import annotations

import re
import traceback

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx2torch = pytest.importorskip("onnx2torch")

import onnx  # noqa: E402
from onnx import AttributeProto, TensorProto, defs, helper, numpy_helper  # noqa: E402
from onnx2torch.node_converters.registry import get_converter  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.converters import Artifact  # noqa: E402
from harness.core import known_issues, stages  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.stages import ConvertOptions  # noqa: E402
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


def known_entry(issues, model, message: str, leg: str = LEG) -> str | None:
    """The entry the pipeline tags this refusal with on a user's ONNX file's leg, or None."""
    spec = LayerSpec("onnx", {}, ((1,),), "float32", 0, source="file")
    received = Artifact("onnx", model, [i.name for i in model.graph.input])
    category = classify_exception("convert", message)[0]
    return next((issue.id for issue in known_issues.candidates(issues, spec, leg, received)
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


# --- onnx2pytorch ----------------------------------------------------------------------------
# onnx2pytorch 0.6.0 has a converter for every op type of onnx 1.23.2's default domain: what it
# refuses there are op versions, attributes and their values, so each op version is converted
# once as built below and once more with each of its attributes written.

O2P_LEG = "onnx>onnx2pytorch"


def onnx2pytorch_refusal(model) -> str | None:
    """The leg's failure message as the pipeline writes it when the onnx2pytorch stage
    refuses ``model``; None where it converts."""
    artifact = Artifact("onnx", model, [i.name for i in model.graph.input])
    try:
        stages.get("onnx2pytorch").convert(artifact, ConvertOptions())
    except Exception as exc:  # noqa: BLE001 (whatever onnx2pytorch raises is the leg's message)
        shown = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6))
        return f"onnx2pytorch raised {type(exc).__name__}: {exc}\n{shown.strip()}"
    return None


def tensor(values, dtype=np.float32, name: str = "value"):
    return numpy_helper.from_array(np.asarray(values, dtype), name)


def subgraph(name: str, inputs, outputs, nodes):
    return helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(n, t, None) for n, t in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs])


FLOAT, INT64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
LOOP_BODY = subgraph("body", [("i", INT64), ("c", BOOL), ("s", FLOAT)], [("c2", BOOL), ("s2", FLOAT)],
                     [helper.make_node("Identity", ["c"], ["c2"]),
                      helper.make_node("Identity", ["s"], ["s2"])])
SCAN_BODY = subgraph("body", [("s", FLOAT), ("x", FLOAT)], [("s2", FLOAT), ("y", FLOAT)],
                     [helper.make_node("Add", ["s", "x"], ["s2"]),
                      helper.make_node("Identity", ["x"], ["y"])])
MAP_BODY = subgraph("body", [("x", FLOAT)], [("y", FLOAT)],
                    [helper.make_node("Identity", ["x"], ["y"])])
BRANCH = subgraph("branch", [], [("y", FLOAT)],
                  [helper.make_node("Constant", [], ["y"], value=tensor([1.0]))])

# A value for each attribute a node must write (the schema's required ones, and kernel_shape,
# which LpPool-1 leaves optional but cannot pool without), as an exporter writes it.
REQUIRED = {
    "axes": [0], "axis": 0, "blocksize": 2, "consumed_inputs": [0, 0, 0, 0, 0],
    "direction": "LEFT", "starts": [0], "ends": [1], "equation": "ij->ji",
    "height_scale": 2.0, "width_scale": 2.0, "scales": [1.0, 1.0, 2.0, 2.0], "k": 1,
    "kernel_shape": [1, 1], "kv_num_heads": 1, "q_num_heads": 1, "max_gram_length": 1,
    "max_skip_count": 0, "min_gram_length": 1, "mode": "TF", "ngram_counts": [0],
    "ngram_indexes": [0], "num_groups": 1, "num_scan_inputs": 1, "paddings": [0, 0, 0, 0],
    "pads": [0, 0, 0, 0], "pooled_shape": [1, 1], "shape": [1], "size": 1, "value": tensor([1.0]),
    "then_branch": BRANCH, "else_branch": BRANCH,
}
BODIES = {"Loop": LOOP_BODY, "Scan": SCAN_BODY, "SequenceMap": MAP_BODY}
# The weights onnx2pytorch takes from initializers only (their other forms are entries of
# their own: onnx2pytorch-weights-must-be-initializers and its kin), by input index.
INITIALIZERS = {"Conv": {1: (1, 1, 1, 1)}, "ConvTranspose": {1: (1, 1, 1, 1)}, "Gemm": {1: (1, 1)},
                "LSTM": {1: (1, 4, 1), 2: (1, 4, 1)}, "GRU": {1: (1, 3, 1), 2: (1, 3, 1)},
                "RNN": {1: (1, 1, 1), 2: (1, 1, 1)}}
RECURRENT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                         "RNN": ["Tanh"]}
# A value for each optional attribute without a schema default, by name (else by type).
WRITTEN = {
    "max": 1.0, "min": -1.0, "perm": [0], "pattern": ".*", "locale": "en_US", "delimiter": " ",
    "type": helper.make_tensor_type_proto(FLOAT, None), "value": tensor([1.0]),
    "value_float": 1.0, "value_floats": [1.0], "value_int": 1, "value_ints": [1],
    "value_string": "a", "value_strings": ["a", "b"], "stopwords": ["a"],
    "pool_strings": ["a"], "pool_int64s": [1], "weights": [1.0], "activation_alpha": [1.0],
    "activation_beta": [1.0], "clip": 1.0, "hidden_size": 1, "scale": 1.0, "end": 1,
    "num_outputs": 1, "axis": 0, "seed": 0, "ignore_index": 0, "pads": [0, 0],
    "sparse_value": helper.make_sparse_tensor(tensor([1.0], name="values"),
                                              tensor([0], np.int64, "indices"), [2]),
}
BY_TYPE = {AttributeProto.INT: 1, AttributeProto.FLOAT: 1.0, AttributeProto.STRING: "a",
           AttributeProto.INTS: [1], AttributeProto.FLOATS: [1.0], AttributeProto.STRINGS: ["a"]}
CONSTANT_VALUES = {"value", "sparse_value", "value_float", "value_floats", "value_int",
                   "value_ints", "value_string", "value_strings"}
# GRU-1's schema default for direction is "foward", a typo of onnx's (no exporter writes it):
# written as the spec means it.
MISSPELT_DEFAULTS = {("GRU", 1, "direction"): "forward"}


def required_value(op: str, attribute):
    if attribute.name == "body":
        return BODIES[op]
    if attribute.name == "to":  # Cast-1 names the type, later versions number it
        return "FLOAT" if attribute.type == AttributeProto.STRING else FLOAT
    return REQUIRED[attribute.name]


def written_value(op: str, version: int, attribute):
    """The value a node writes for an optional attribute: the schema's default, else a
    plausible one."""
    if (op, version, attribute.name) in MISSPELT_DEFAULTS:
        return MISSPELT_DEFAULTS[op, version, attribute.name]
    if attribute.default_value.type:
        value = helper.get_attribute_value(attribute.default_value)
        if isinstance(value, bytes):
            return value.decode()
        return [v.decode() if isinstance(v, bytes) else v for v in value] \
            if isinstance(value, list) else value
    if attribute.name == "activations":
        return RECURRENT_ACTIVATIONS[op]
    return WRITTEN[attribute.name] if attribute.name in WRITTEN else BY_TYPE[attribute.type]


def reachable_node(op: str, version: int, written: dict | None = None):
    """A one-node model of ``op`` at ``version`` that onnx2pytorch can convert: the attributes
    it must write, the weights it takes from initializers, and ``written``."""
    schema = defs.get_schema(op, version)
    inputs = {"Loop": 3, "Scan": 2}.get(op, max(schema.min_input, 1 if schema.max_input else 0))
    outputs = {"Loop": 1, "Scan": 2}.get(op, max(schema.min_output, 1))
    attrs = {a.name: required_value(op, a) for a in schema.attributes.values() if a.required}
    if op in RECURRENT_ACTIVATIONS:
        attrs["hidden_size"] = 1
    if op == "LpPool" and "kernel_shape" not in attrs:
        attrs["kernel_shape"] = [1, 1]
    if op == "Constant" and not attrs and not CONSTANT_VALUES & set(written or {}):
        attrs["value"] = tensor([1.0])
    attrs.update(written or {})
    names = [f"in{i}" for i in range(inputs)]
    initializers = [tensor(np.ones(shape), name=names[i])
                    for i, shape in INITIALIZERS.get(op, {}).items() if i < inputs]
    if op == "Loop":
        initializers += [tensor(2, np.int64, "in0"), tensor(True, np.bool_, "in1")]
    node = helper.make_node(op, names, [f"out{i}" for i in range(outputs)], **attrs)
    fed = [name for name in names if name not in {t.name for t in initializers}]
    graph = helper.make_graph(
        [node], f"{op}_{version}", [helper.make_tensor_value_info(n, FLOAT, None) for n in fed],
        [helper.make_tensor_value_info(f"out{i}", FLOAT, None) for i in range(outputs)],
        initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", version)],
                             ir_version=IR_VERSION)


def onnx2pytorch_refused() -> list[tuple[str, int, str | None, object, str]]:
    """(op, version, the attribute written or None, model, message) of every one-node model
    of onnx's default domain (non-deprecated op versions) that onnx2pytorch refuses."""
    refused = []
    for schema in defs.get_all_schemas_with_history():
        if schema.domain != "" or schema.deprecated:
            continue
        op, version = schema.name, schema.since_version
        variants = [(None, None)] + [
            (a.name, {a.name: written_value(op, version, a)})
            for a in schema.attributes.values() if not a.required]
        for attribute, written in variants:
            model = reachable_node(op, version, written)
            message = onnx2pytorch_refusal(model)
            if message is not None:
                refused.append((op, version, attribute, model, message))
    return sorted(refused, key=lambda found: (found[0], found[1], found[2] or ""))


def test_every_op_version_and_attribute_onnx2pytorch_refuses_is_a_known_issue():
    pytest.importorskip("onnx2pytorch")
    issues = known_issues.load()
    refused = onnx2pytorch_refused()
    found = {(op, version, attribute) for op, version, attribute, _, _ in refused}
    # The refusals of harness/known_issues.d/onnx2pytorch-families.toml's entries, as measured
    # on onnx2pytorch 0.6.0; and the sweep builds nodes onnx2pytorch converts, weights and
    # subgraphs included.
    assert {("Cast", 1, None), ("Cast", 24, "round_mode"), ("QuantizeLinear", 23, "precision"),
            ("DequantizeLinear", 23, "output_dtype"), ("Attention", 25, "right_window_size"),
            ("Constant", 12, "value_string"), ("Constant", 11, "sparse_value"),
            ("TfIdfVectorizer", 9, "pool_strings"), ("Scan", 8, None)} <= found
    assert not {("Dropout", 13, None), ("Relu", 14, None), ("Conv", 11, None),
                ("LSTM", 14, None), ("Loop", 16, None)} & found
    untagged = [f"{op}-{version}" + (f" {attribute}" if attribute else "") + ": "
                + message.splitlines()[0]
                for op, version, attribute, model, message in refused
                if known_entry(issues, model, message, O2P_LEG) is None]
    assert not untagged, ("onnx2pytorch refuses these with no known-issue entry:\n"
                          + "\n".join(untagged))


def contrib_schemas():
    """The ops of onnxruntime's com.microsoft domain (its contrib ops), newest version each."""
    schema_list = pytest.importorskip("onnxruntime.capi.onnxruntime_pybind11_state")
    if not hasattr(schema_list, "get_all_operator_schema"):
        pytest.skip("this onnxruntime build does not list its operator schemas")
    newest = {}
    for schema in sorted(schema_list.get_all_operator_schema(), key=lambda s: s.since_version):
        if schema.domain == "com.microsoft" and not schema.deprecated:
            newest[schema.name] = schema
    return [newest[name] for name in sorted(newest)]


def contrib_node(op: str, inputs: int = 1, outputs: int = 1):
    """A one-node model of a com.microsoft op, as onnxruntime's tools write one: the default
    domain's opset beside com.microsoft's."""
    inputs = [f"in{i}" for i in range(max(inputs, 1))]
    outputs = [f"out{i}" for i in range(max(outputs, 1))]
    node = helper.make_node(op, inputs, outputs, domain="com.microsoft")
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info(n, FLOAT, None) for n in inputs],
        [helper.make_tensor_value_info(n, FLOAT, None) for n in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("com.microsoft", 1)],
                             ir_version=IR_VERSION)


# It guesses torch.cdist and torch.inverse for CDist and Inverse, and says so.
@pytest.mark.filterwarnings("ignore:No explicit conversion for op_type:RuntimeWarning")
def test_every_contrib_op_onnx2pytorch_refuses_is_a_known_issue():
    """onnx2pytorch converts a node by its op type whatever its domain: the contrib ops that
    share a name with a default-domain op convert (as that op), the others are refused."""
    pytest.importorskip("onnx2pytorch")
    issues = known_issues.load()
    refused, untagged = [], []
    for schema in contrib_schemas():
        model = contrib_node(schema.name, schema.min_input, schema.min_output)
        message = onnx2pytorch_refusal(model)
        if message is None:
            continue
        refused.append(schema.name)
        if known_entry(issues, model, message, O2P_LEG) is None:
            untagged.append(f"{schema.name}: {message.splitlines()[0]}")
    assert {"QLinearAdd", "QLinearMul", "DynamicQuantizeMatMul", "MatMulNBits",
            "SkipLayerNormalization", "FusedConv"} <= set(refused)
    assert "QLinearConv" not in refused and "Gelu" not in refused  # by their default-domain name
    assert not untagged, ("onnx2pytorch refuses these com.microsoft ops with no known-issue "
                          "entry:\n" + "\n".join(untagged))


def quantized_qoperator(directory):
    """A Conv, an Add of its input and a Relu, quantized by onnxruntime's quantize_static in
    the QOperator format, as a user quantizes a model for onnxruntime: QLinearConv (default
    domain) and QLinearAdd (com.microsoft) between QuantizeLinear and DequantizeLinear."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "x"], ["a"]),
             helper.make_node("Relu", ["a"], ["y"])]
    graph = helper.make_graph(
        nodes, "float", [helper.make_tensor_value_info("x", FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", FLOAT, [1, 2, 4, 4])],
        [tensor(rng.standard_normal((2, 1, 3, 3)), name="w"), tensor(np.zeros(2), name="b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=IR_VERSION), directory / "float.onnx")

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": rng.standard_normal((1, 1, 4, 4)).astype(np.float32)}
                                 for _ in range(4)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(directory / "float.onnx"), str(directory / "quantized.onnx"),
                    Calibration(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8)
    return directory / "quantized.onnx"


def test_parity_check_tags_onnx2pytorchs_contrib_op_refusal_known(tmp_path, capsys):
    pytest.importorskip("onnx2pytorch")
    import onnxruntime

    path = quantized_qoperator(tmp_path)
    model = onnx.load(path)
    assert ("QLinearAdd", "com.microsoft") in [(n.op_type, n.domain) for n in model.graph.node]
    # By hand: onnxruntime runs it, onnx2pytorch refuses it.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    session.run(None, {"x": np.ones((1, 1, 4, 4), np.float32)})
    assert "Conversion not implemented for op_type=QLinearAdd." in onnx2pytorch_refusal(model)
    main(["check", str(path), "--paths", O2P_LEG, "-q", "--report", "none"])
    shown = capsys.readouterr().out
    assert re.search(r"^onnx>onnx2pytorch +unsupported \(known\) .* op QLinearAdd \(onnx2pytorch\)",
                     shown, re.M), shown
    assert "known issue onnx2pytorch-no-contrib-ops:" in shown


@pytest.mark.parametrize("entry, refused", [
    ("onnx2pytorch-no-contrib-ops", lambda: contrib_node("QLinearAdd", 7)),
    ("onnx2pytorch-attributes-since-opset-23", lambda: reachable_node("Cast", 24, {"round_mode": "up"})),
    ("onnx2pytorch-old-op-versions", lambda: reachable_node("Cast", 1)),
    ("onnx2pytorch-constant-strings-or-sparse",
     lambda: reachable_node("Constant", 13, {"value_strings": ["a"]})),
    ("onnx2pytorch-tfidf-pool-strings",
     lambda: reachable_node("TfIdfVectorizer", 9, {"pool_strings": ["a"]})),
])
def test_the_onnx2pytorch_sweep_fails_without_its_family_entry(entry, refused):
    """The sweep is honest: without the entry, its refusal goes untagged."""
    pytest.importorskip("onnx2pytorch")
    model = refused()
    message = onnx2pytorch_refusal(model)
    everything = known_issues.load()
    assert known_entry(everything, model, message, O2P_LEG) == entry
    assert known_entry([i for i in everything if i.id != entry], model, message, O2P_LEG) is None


def test_a_node_inside_an_if_branch_is_matched_as_a_top_level_one(tmp_path):
    """torch.onnx.export writes torch.cond as an If whose branches Gemm the outer graph's
    initializers; onnx2pytorch builds each branch's Gemm from the branch's own and refuses:
    the entry that names Gemm tags it, as it would a Gemm outside the If."""
    weights = [numpy_helper.from_array(np.eye(4, dtype=np.float32) * scale, name)
               for scale, name in ((2.0, "w_then"), (-1.0, "w_else"))]

    def branch(name, weight):
        return helper.make_graph(
            [helper.make_node("Gemm", ["x", weight], [f"{name}_y"])], name, [],
            [helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, ["n", 4])])

    nodes = [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
             helper.make_node("Greater", ["total", "zero"], ["positive"]),
             helper.make_node("If", ["positive"], ["y"],
                              then_branch=branch("then", "w_then"),
                              else_branch=branch("else", "w_else"))]
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    graph = helper.make_graph(nodes, "cond", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["n", 4])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, ["n", 4])], [*weights, zero])
    path = tmp_path / "cond.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=IR_VERSION), path)
    outcome = run_check(CheckOptions(model=str(path), report=None,
                                     paths="onnx>onnx2pytorch,onnx>ort-optimized"))
    rows = {row.leg: row for row in outcome.rows}
    assert "Unexpected number of parameters: 0" in rows["onnx>onnx2pytorch"].message
    assert (rows["onnx>onnx2pytorch"].known_issue or {}).get("id") == \
        "onnx2pytorch-weights-must-be-initializers"
    assert rows["onnx>ort-optimized"].verdict == "agrees"


@pytest.mark.parametrize("written, verdict", [
    ({"exclusive": 1}, "differs"),  # reverse left out, as tf2onnx writes Keras' causal mask
    ({"exclusive": 1, "reverse": 0}, "agrees"),  # written at its default: read right
])
def test_an_attribute_a_file_leaves_out_is_matched_as_a_drawn_omitted_form(
        tmp_path, written, verdict):
    """onnx2torch reads CumSum's reverse as 1 where the node leaves it out; the entry about
    it names the drawn form (form_attrs omitted), which a file's node is read as too."""
    axis = numpy_helper.from_array(np.array(1, np.int64), "axis")
    graph = helper.make_graph(
        [helper.make_node("CumSum", ["x", "axis"], ["y"], **written)], "cumsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], [axis])
    path = tmp_path / "cumsum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)],
                                ir_version=IR_VERSION), path)
    (row,) = run_check(CheckOptions(model=str(path), report=None, paths=LEG)).rows
    assert row.verdict == verdict
    if verdict == "differs":
        assert row.known_issue["id"] == "onnx2torch-cumsum-omitted-reverse"
