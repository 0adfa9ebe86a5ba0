"""What the structural checks read of an ONNX model: its shapes, constants, readers,
attributes and opset (shared by every family of checks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The opset a model without an ai.onnx import is read at (Selu's defaults have not changed).
OPSET = 17

Check = Callable[[Any, Any], bool]


def typed_shapes(model) -> dict[str, tuple]:
    """Per tensor name, the dims its value_info or graph output declares (an int, a name, or
    None for an unknown dim); tensors declared without a shape are left out."""
    found = {}
    for value in [*model.graph.value_info, *model.graph.output]:
        tensor = value.type.tensor_type
        if tensor.HasField("shape"):
            found[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                      for d in tensor.shape.dim)
    return found


def inferred(model) -> dict[str, tuple]:
    import onnx

    try:
        return typed_shapes(onnx.shape_inference.infer_shapes(model))
    except Exception:  # noqa: BLE001  (a model inference refuses: nothing is known)
        return typed_shapes(model)


def model_of(artifact):
    """The ONNX model of an artifact (or the model itself), None for anything else: a torch
    fx GraphModule has a ``graph`` too. An artifact of another format is not asked for its
    model: a cached reading builds it when asked (a Keras source, TensorFlow imported and the
    model built, to learn that it is not ONNX)."""
    if getattr(artifact, "format", "onnx") != "onnx":
        return None
    model = getattr(artifact, "model", artifact)
    return model if hasattr(model, "graph") and hasattr(model, "opset_import") else None


def undeclared(model, *, inner: bool = True):
    """A copy of ``model`` without the shapes it declares for its outputs, and with
    ``inner``, for its inner tensors (its value_info) too: what shape inference would write
    where a rewriter typed them."""
    import onnx

    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    if inner:
        del bare.graph.value_info[:]
    for output in bare.graph.output:
        output.type.tensor_type.ClearField("shape")
    return bare


def opset_of(model) -> int:
    return next((entry.version for entry in model.opset_import
                 if entry.domain in ("", "ai.onnx")), OPSET)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def fed_inputs(model) -> set[str]:
    return {i.name for i in model.graph.input} - {t.name for t in model.graph.initializer}


def declared_shapes(model) -> dict[str, tuple]:
    """Per tensor name, the dims an initializer, a graph input or shape inference gives."""
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    for value in model.graph.input:
        tensor = value.type.tensor_type
        if tensor.HasField("shape") and value.name not in shapes:
            shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                       for d in tensor.shape.dim)
    return {**inferred(model), **shapes}


def ranks(model) -> dict[str, int]:
    """Per tensor name, its rank where the model declares or infers one."""
    return {name: len(dims) for name, dims in declared_shapes(model).items()}


def constants(model) -> dict[str, Any]:
    """Per name, the value of each initializer and Constant node output that is not fed, and
    of each Identity of one (torch's TorchScript exporter writes a second use of an equal
    initializer, a Slice's steps equal to its axes, as an Identity of the first)."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    for name in fed_inputs(model):
        values.pop(name, None)
    for node in model.graph.node:  # in the graph's order: an Identity of an Identity too
        if node.op_type == "Identity" and node.input and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


def readers(model) -> dict[str, list[Any]]:
    """Per tensor name, the nodes that read it."""
    readers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


NOT_KNOWN = object()  # an operand fed at run time


def axes_of(node, constants: dict[str, Any]):
    """A node's axes, from its attribute (Squeeze before opset 13, Reduce* before 18) or its
    constant second input: a list, None where they are left out, NOT_KNOWN where they are
    fed."""
    for attr in node.attribute:
        if attr.name == "axes":
            return list(attr.ints)
    if len(node.input) < 2 or not node.input[1]:
        return None
    if node.input[1] in constants:
        return [int(a) for a in constants[node.input[1]].reshape(-1)]
    return NOT_KNOWN


def fed_by(model, producer: str, reader: str):
    """(producer node, reader node) of each ``reader`` whose first input a ``producer``
    makes."""
    made = {out: node for node in model.graph.node for out in node.output}
    for node in model.graph.node:
        first = made.get(node.input[0]) if node.op_type == reader and node.input else None
        if first is not None and first.op_type == producer:
            yield first, node


def attributes(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def nodes(model, *op_types: str) -> list[Any]:
    return [node for node in model.graph.node if node.op_type in op_types]


def graphs(graph) -> list[Any]:
    """``graph`` and every graph nested in its nodes' attributes (a Loop's body, an If's
    branches), outermost first."""
    found = [graph]
    for node in graph.node:
        for attribute in node.attribute:
            for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                found += graphs(sub)
    return found


def local_function_calls(model) -> dict[str, int]:
    """Per function the model defines (``ModelProto.functions``), by ``domain.name``, how many
    nodes of its graphs, nested ones included, call it."""
    defined = {(function.domain, function.name) for function in model.functions}
    calls: dict[str, int] = {}
    for graph in graphs(model.graph):
        for node in graph.node:
            if (node.domain, node.op_type) in defined:
                name = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
                calls[name] = calls.get(name, 0) + 1
    return calls
