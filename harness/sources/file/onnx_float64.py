"""A user's ONNX file recomputed in float64: its float64 yardstick (docs/tolerances.md).

The file's graph is written again with every float32 tensor float64: the declared inputs,
outputs and intermediate types, the initializers and constants (widened, so exactly the same
numbers), a Cast to float32 and an op's ``dtype``/``stash_type`` made float64. Where an op's
schema allows float32 but not float64 at an input (a Resize's scales, a QuantizeLinear's
input), that input is cast back to float32 before the op; where it allows float32 but not
float64 at an output (a DequantizeLinear's), the output is cast up after it. The widened graph
is read by onnxruntime (its CPU kernels, optimisations off) where it has a float64 kernel for
every node (not for a Conv or a Resize), else by onnx's reference evaluator with its poolings
vectorised (``fast_pools``), where that is estimated to take at most ``EVALUATOR_BUDGET``
seconds; beyond it there is no reading, and the record says so.

As for a Keras file, the reading is the file's model itself in float64, without an error model:
its ``source_error`` is onnxruntime's own float32 rounding, and a reading further from the
reference than float32 rounding takes it (``AGREEMENT``) is not the same computation and is
dropped.
"""

from __future__ import annotations

import re

import numpy as np

from harness.converters import Artifact
from harness.core.structure.models import graphs
from harness.core.yardstick import AGREEMENT, NotFloat64, checked, distance, note_missing
from harness.runtimes.onnx_evaluated import evaluator_model
from harness.runtimes.onnxruntime import OnnxRuntimeRunner
from harness.sources.file.fast_pools import kernels, plain_attributes

FLOAT, DOUBLE = 1, 11  # onnx.TensorProto's element types
FLOAT_TYPE, DOUBLE_TYPE = "tensor(float)", "tensor(double)"
# Attributes whose value is an element type the op computes or returns in.
TYPE_ATTRIBUTES = ("to", "dtype", "output_datatype", "stash_type")
# Ops whose stash_type stays as written: onnx's evaluator refuses a LayerNormalization's other
# than float32, and computes in the input's type whatever it says (as onnxruntime does).
STASH_KEPT = {"LayerNormalization"}
# onnx's evaluator, timed on one core of an AMD EPYC in float64: a convolution or product at
# about 3e9 multiply-adds a second (numpy's products: a ResNet50's 8.2e9 at batch 2 read in
# 2.3 s of CPU), a transposed convolution at 1.3e7 (its loops), a pooling at 5e7 kernel
# elements a second (``fast_pools``), 1e6 where its attributes leave it to the evaluator's own
# loops; the rest is negligible beside them. A model onnxruntime cannot read in float64 is
# read by the evaluator where that is estimated to take at most EVALUATOR_BUDGET seconds.
RATES = {"Conv": 3e9, "MatMul": 3e9, "Gemm": 3e9, "ConvTranspose": 1.3e7,
         "MaxPool": 5e7, "AveragePool": 5e7, "LpPool": 1e6}
SLOW_POOL_RATE = 1e6
EVALUATOR_BUDGET = 20.0
NARROWED, WIDENED = "__parity_float32", "__parity_float64"
KERNEL_MISSING = re.compile(r"Could not find an implementation for (\S+?\(\d+\)) node")


def onnx_file_reading(spec, model, inputs: list[np.ndarray],
                      reference: list[np.ndarray]) -> list[np.ndarray] | None:
    """The file's ``model`` (float32) read in float64 on the case's ``inputs``; None where that
    cannot be done, and ``harness.core.yardstick.missing_reason(spec)`` says why."""
    why = _not_float32(spec, reference)
    if why is None:
        try:
            outputs = read_float64(model, inputs)
            apart = distance(outputs, reference)
            if apart > AGREEMENT:
                raise NotFloat64(f"no float64 reading: in float64 the model lands {apart:.3g} "
                                 f"of the outputs' scale from onnxruntime's float32 reading, "
                                 f"beyond float32 rounding: not the same computation")
            return outputs
        except NotFloat64 as exc:
            why = str(exc)
    note_missing(spec, why)
    return None


def _not_float32(spec, reference) -> str | None:
    if spec.dtype != "float32":
        return (f"the model computes in {spec.dtype}: parity reads an ONNX file in float64 "
                f"from float32 only")
    if not all(isinstance(y, np.ndarray) for y in reference):
        return "the model returns sequences or maps, which a float64 reading does not widen"
    exact = sorted({str(y.dtype) for y in reference if y.dtype.kind not in "fc"})
    if exact:
        return (f"the model has outputs that are not floats ({', '.join(exact)}), which a "
                f"float64 reading does not widen")
    return None


def read_float64(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The float64 outputs of ``model`` widened (``widened``) on ``inputs`` widened:
    onnxruntime's, else onnx's reference evaluator's within ``EVALUATOR_BUDGET``; else
    NotFloat64 saying why."""
    try:
        wide = widened(model)
    except NotFloat64:
        raise
    except Exception as exc:  # noqa: BLE001 (a graph parity cannot write again)
        raise NotFloat64(f"no float64 reading: the graph cannot be written in float64 "
                         f"({type(exc).__name__}: {_first_line(exc)})") from None
    data = [x.astype(np.float64) if x.dtype == np.float32 else x for x in inputs]
    names = [value.name for value in data_inputs(wide.graph)][:len(data)]
    try:
        outputs = OnnxRuntimeRunner("cpu").run(
            Artifact("onnx", wide, names, {"ort_optimization": "disable"}), data)
        return checked(outputs, "the ONNX model")
    except NotFloat64:
        raise
    except Exception as exc:  # noqa: BLE001 (a node without a float64 kernel there)
        ort_failure = _why_not_onnxruntime(exc)
    seconds = evaluator_seconds(model, inputs)
    if seconds > EVALUATOR_BUDGET:
        raise NotFloat64(f"no float64 reading: onnxruntime cannot run the model in float64 "
                         f"({ort_failure}), and onnx's reference evaluator would take about "
                         f"{seconds:.0f} s on one core (budget {EVALUATOR_BUDGET:.0f} s)")
    return checked(_evaluated(wide, names, data), "the ONNX model")


def data_inputs(graph) -> list:
    """The graph's inputs that are fed: an initializer may be listed among them too (IR 3's
    way, torch.onnx.export's keep_initializers_as_inputs), and is not."""
    stored = {tensor.name for tensor in graph.initializer}
    return [value for value in graph.input if value.name not in stored]


def _why_not_onnxruntime(exc: BaseException) -> str:
    missing = KERNEL_MISSING.search(str(exc))
    if missing:
        return f"it has no float64 kernel for {missing.group(1)}"
    return f"{type(exc).__name__}: {_first_line(exc)[:160]}"


def _evaluated(wide, names, data) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(evaluator_model(wide), new_ops=list(kernels()))
        return [np.asarray(y) for y in evaluator.run(None, dict(zip(names, data)))]
    except Exception as exc:  # noqa: BLE001 (the evaluator fails as it fails)
        raise NotFloat64(f"no float64 reading: neither onnxruntime nor onnx's reference "
                         f"evaluator runs the model in float64 ({type(exc).__name__}: "
                         f"{_first_line(exc)})") from None


def widened(model):
    """A copy of ``model`` that computes in float64 wherever it computed in float32."""
    import onnx

    wide = onnx.ModelProto()
    wide.CopyFrom(model)
    types = _float32_values(model)
    opsets = {entry.domain or "ai.onnx": entry.version for entry in wide.opset_import}
    for graph in graphs(wide.graph):
        for value in [*graph.input, *graph.output, *graph.value_info]:
            _widen_type(value.type)
        for i, tensor in enumerate(graph.initializer):
            graph.initializer[i].CopyFrom(_wide_tensor(tensor))
        for sparse in graph.sparse_initializer:
            sparse.values.CopyFrom(_wide_tensor(sparse.values))
        for node in graph.node:
            _widen_attributes(node)
    # Innermost first: casting rewrites a graph's node list with copies of its nodes, and with
    # them of the branches and bodies they hold, which must be cast already.
    for graph in reversed(graphs(wide.graph)):
        _cast_at_float32_slots(graph, opsets, types)
    for function in wide.functions:
        for graph_node in function.node:
            _widen_attributes(graph_node)
    return wide


def _widen_type(type_proto) -> None:
    which = type_proto.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        inner = getattr(type_proto, which)
        if inner.elem_type == FLOAT:
            inner.elem_type = DOUBLE
    elif which in ("sequence_type", "optional_type"):
        _widen_type(getattr(type_proto, which).elem_type)
    elif which == "map_type":
        _widen_type(type_proto.map_type.value_type)


def _wide_tensor(tensor):
    from onnx import numpy_helper

    if tensor.data_type != FLOAT:
        return tensor
    return numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float64),
                                   tensor.name)


def _widen_attributes(node) -> None:
    from onnx import AttributeProto, helper

    for i, attribute in enumerate(node.attribute):
        if attribute.type == AttributeProto.TENSOR:
            attribute.t.CopyFrom(_wide_tensor(attribute.t))
        elif attribute.type == AttributeProto.TENSORS:
            for j, tensor in enumerate(attribute.tensors):
                attribute.tensors[j].CopyFrom(_wide_tensor(tensor))
        elif attribute.type == AttributeProto.SPARSE_TENSOR:
            attribute.sparse_tensor.values.CopyFrom(_wide_tensor(attribute.sparse_tensor.values))
        elif attribute.name in TYPE_ATTRIBUTES and attribute.type == AttributeProto.INT:
            if attribute.i == FLOAT and not (attribute.name == "stash_type"
                                             and node.op_type in STASH_KEPT):
                attribute.i = DOUBLE
        elif (node.op_type == "Constant" and node.domain in ("", "ai.onnx")
              and attribute.name in ("value_float", "value_floats")):
            value = (np.float64(attribute.f) if attribute.name == "value_float"
                     else np.asarray(attribute.floats, dtype=np.float64))
            node.attribute[i].CopyFrom(helper.make_attribute(
                "value", _numpy_tensor(value)))


def _numpy_tensor(value):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value, dtype=np.float64))


def _float32_values(model) -> set[str]:
    """The names of the model's float32 tensors, as onnx's shape inference types them (an
    input whose type it cannot tell is not cast)."""
    import onnx

    try:
        typed = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # noqa: BLE001 (a model shape inference refuses: its own types only)
        typed = model
    found = set()
    for graph in graphs(typed.graph):
        for value in [*graph.input, *graph.output, *graph.value_info]:
            if value.type.tensor_type.elem_type == FLOAT:
                found.add(value.name)
        found.update(t.name for t in graph.initializer if t.data_type == FLOAT)
        for node in graph.node:
            if node.op_type == "Constant" and any(
                    (a.name == "value" and a.t.data_type == FLOAT)
                    or a.name in ("value_float", "value_floats") for a in node.attribute):
                found.update(node.output)
    return found


def _cast_at_float32_slots(graph, opsets: dict[str, int], float32: set[str]) -> None:
    """Casts each float32 input of a node to float32 where the node's schema does not take
    float64 there, and each float32 output of a node up to float64 where the schema cannot
    return it (the node computes in float32 there, between float64 neighbours)."""
    from onnx import helper

    nodes = list(graph.node)
    del graph.node[:]
    for position, node in enumerate(nodes):
        schema = _schema(node, opsets)
        before, after = [], []
        if schema is not None:
            for slot, name in enumerate(node.input):
                if name and name in float32 and _narrow_only(schema, schema.inputs, slot):
                    narrow = f"{name}{NARROWED}_{position}_{slot}"
                    before.append(helper.make_node("Cast", [name], [narrow], to=FLOAT))
                    node.input[slot] = narrow
            for slot, name in enumerate(node.output):
                if name and name in float32 and _narrow_only(schema, schema.outputs, slot):
                    inner = f"{name}{WIDENED}"
                    after.append(helper.make_node("Cast", [inner], [name], to=DOUBLE))
                    node.output[slot] = inner
        graph.node.extend([*before, node, *after])


def _schema(node, opsets: dict[str, int]):
    import onnx

    domain = node.domain or "ai.onnx"
    version = opsets.get(domain)
    if version is None:
        return None
    try:
        return onnx.defs.get_schema(node.op_type, version, "" if domain == "ai.onnx" else domain)
    except onnx.defs.SchemaError:
        return None  # a function of the model's own, or a domain onnx does not define


def _narrow_only(schema, formals, slot: int) -> bool:
    """Whether the schema's formal parameter at ``slot`` takes float32 but not float64."""
    if not formals:
        return False
    import onnx

    formal = formals[min(slot, len(formals) - 1)]
    if slot >= len(formals) and formal.option != onnx.defs.OpSchema.FormalParameterOption.Variadic:
        return False
    constraints = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
    allowed = constraints.get(formal.type_str, {formal.type_str})
    return FLOAT_TYPE in allowed and DOUBLE_TYPE not in allowed


def evaluator_seconds(model, inputs: list[np.ndarray]) -> float:
    """About how long onnx's evaluator takes to read ``model`` on ``inputs`` on one core
    (``RATES``), from the work of its convolutions, products and poolings at these inputs'
    shapes as onnx's shape inference types them (a node whose shapes it cannot tell counts
    nothing)."""
    shapes = _static_shapes(model, inputs)
    if shapes is None:
        return float("inf")
    return sum(work / _rate(node) for node in model.graph.node
               if node.op_type in RATES and (work := node_work(node, shapes)))


def _rate(node) -> float:
    if node.op_type in ("MaxPool", "AveragePool"):
        attributes = {a.name: a for a in node.attribute}
        auto_pad = attributes["auto_pad"].s if "auto_pad" in attributes else None
        ceil_mode = attributes["ceil_mode"].i if "ceil_mode" in attributes else 0
        dilations = list(attributes["dilations"].ints) if "dilations" in attributes else None
        if not plain_attributes(auto_pad, ceil_mode, dilations, len(node.output)):
            return SLOW_POOL_RATE
    return RATES[node.op_type]


def _static_shapes(model, inputs) -> dict[str, list[int]] | None:
    import onnx

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value, x in zip(data_inputs(fixed.graph), inputs):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == np.ndim(x):
            for dim, size in zip(dims, np.shape(x)):
                dim.Clear()
                dim.dim_value = int(size)
    try:
        typed = onnx.shape_inference.infer_shapes(fixed, strict_mode=False)
    except Exception:  # noqa: BLE001
        return None
    shapes = {}
    for value in [*typed.graph.input, *typed.graph.output, *typed.graph.value_info]:
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    shapes.update({t.name: list(t.dims) for t in typed.graph.initializer})
    return shapes


def node_work(node, shapes: dict[str, list[int]]) -> float:
    """A node's multiply-adds (a convolution, a product) or kernel elements (a pooling) at
    ``shapes``; 0 where they are not known."""
    known = [shapes.get(name) for name in node.input]
    out = shapes.get(node.output[0]) if node.output else None
    if not known or not known[0] or not out:
        return 0.0
    if node.op_type in ("Conv", "ConvTranspose") and len(known) > 1 and known[1]:
        # (M, C/group, k...) for a Conv, (C, M/group, k...) for a ConvTranspose: each output
        # of a Conv, each input of a ConvTranspose, meets the rest of the weight once.
        elements = out if node.op_type == "Conv" else known[0]
        return _product(elements) * _product(known[1][1:])
    if node.op_type in ("MatMul", "Gemm") and len(known) > 1:
        transposed = any(a.name == "transA" and a.i for a in node.attribute)
        inner = known[0][0] if node.op_type == "Gemm" and transposed else known[0][-1]
        return _product(out) * inner
    if node.op_type in ("MaxPool", "AveragePool", "LpPool"):
        kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), [])
        return _product(out) * _product(kernel)
    return 0.0


def _product(values) -> float:
    return float(np.prod(values, dtype=np.float64))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
