"""Building ONNX models from specs with ``onnx.helper``: one node or a drawn graph.

A spec's attributes hold the node attributes under their ONNX names and a few harness keys
(``HARNESS_KEYS``) that say how the node is fed: which operands are graph inputs, which are
constants or weights (initializers, as exporters write them), which inputs are integers.
Weights are built as zeros and filled from the spec's seed afterwards (``fill_weights``),
as Keras' weights are, so a model is a function of its spec alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.converters.onnx_ir import pin_ir_version
from harness.core.inputs import draw_weight
from harness.core.structure.models import graphs
from harness.sources import SourceError

# Keys of a spec's attrs that are not ONNX node attributes.
OPSET = "opset"
OPERANDS = "operands"  # per ONNX input position: "in", None (omitted) or a constant/weight
INPUT_DTYPES = "input_dtypes"  # per graph input: a dtype, or None for the spec's dtype
INT_INPUTS = "int_inputs"  # per graph input: exclusive bound of an index input, or None
VALUE_RANGE = "value_range"  # per graph input: None, "positive", "unit", "nonzero", [lo, hi]
OUTPUTS = "outputs"  # how many outputs the node produces (default 1)
NODES = "nodes"  # a drawn graph's nodes (harness.sources.onnx.graphs)
GRAPH_OUTPUTS = "graph_outputs"  # a drawn graph's outputs
# How the model is written (harness.sources.onnx.forms); absent: as every case was before.
FORM_ATTRS = "form_attrs"  # the attributes that have a schema default
FORM_OPERANDS = "form_operands"  # the operands that are not the data
FORM_OPSET = "form_opset"  # the opset the model declares
FORM_KEYS = frozenset({FORM_ATTRS, FORM_OPERANDS, FORM_OPSET})
HARNESS_KEYS = frozenset({OPSET, OPERANDS, INPUT_DTYPES, INT_INPUTS, VALUE_RANGE, OUTPUTS,
                          NODES, GRAPH_OUTPUTS, "inputs", *FORM_KEYS})

# Roles of weight initializers; their values come from harness.core.inputs.draw_weight by role.
WEIGHT_ROLES = ("kernel", "bias", "scale", "mean", "variance", "beta")
WEIGHT_PREFIX = "w"

DEFAULT_OPSET = 17
MAX_RUNNABLE_OPSET = 26  # onnxruntime 1.31 loads at most opset 26
BATCH_PARAM = "N"  # the dim_param a free batch is declared with, as exporters write it


def tensor_type(dtype: str) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class GraphBuilder:
    """Collects inputs, initializers and nodes; ``model`` makes a checked ModelProto and
    ``subgraph`` a graph-valued attribute (an If's branch: its nodes, initializers and
    outputs, reading outer values by name). A subgraph's builder names everything it makes
    with ``prefix``, so that no name repeats one of the enclosing graph's."""

    def __init__(self, dtype: str, prefix: str = ""):
        self.dtype = dtype
        self.prefix = prefix
        self.inputs: list[Any] = []
        self.initializers: list[Any] = []
        self.nodes: list[Any] = []
        self._count = 0

    def add_input(self, shape, dtype: str | None = None) -> str:
        from onnx import helper

        name = f"input_{len(self.inputs)}"
        dims = [d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) else None)
                for d in shape]
        self.inputs.append(helper.make_tensor_value_info(name, tensor_type(dtype or self.dtype),
                                                         dims))
        return name

    def add_constant(self, value, dtype: str, name: str | None = None) -> str:
        from onnx import numpy_helper

        name = name or self._name("c")
        array = np.asarray(value, dtype=dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def add_weight(self, role: str, shape, dtype: str | None = None) -> str:
        """A weight initializer, zeros until ``fill_weights``; its name carries its role."""
        if role not in WEIGHT_ROLES:
            raise ValueError(f"unknown weight role {role!r}; known: {', '.join(WEIGHT_ROLES)}")
        name = f"{WEIGHT_PREFIX}{self.prefix}{len(self.initializers)}_{role}"
        return self.add_constant(np.zeros(shape), dtype or self.dtype, name)

    def next_name(self, op_type: str) -> str:
        """The name ``add_node`` gives the next node of ``op_type``."""
        return f"{self.prefix}n{len(self.nodes):02d}_{op_type.lower()}"

    def add_node(self, op_type: str, inputs: list[str], attrs: dict[str, Any],
                 outputs: int = 1, name: str | None = None, domain: str = "") -> list[str]:
        from onnx import helper

        node_name = name or self.next_name(op_type)
        names = [f"{node_name}_out{i}" if outputs > 1 else f"{node_name}_out"
                 for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=node_name,
                                           domain=domain, **node_attributes(attrs)))
        return names

    def feed(self, operands: list[Any] | None, shapes, input_dtypes=None) -> list[str]:
        """The names feeding one node: graph inputs for "in" (in the order of ``shapes``),
        "" for an omitted optional input, initializers for constants and weights."""
        input_dtypes = list(input_dtypes or [])
        if operands is None:
            operands = ["in"] * len(shapes)
        names, next_input = [], 0
        for position, operand in enumerate(operands):
            if operand == "in":
                if next_input >= len(shapes):
                    raise ValueError(f"operand {position} is an input but only {len(shapes)} "
                                     "input shapes were drawn")
                dtype = input_dtypes[next_input] if next_input < len(input_dtypes) else None
                names.append(self.add_input(shapes[next_input], dtype))
                next_input += 1
            elif operand is None or operand == "":  # "": as ONNX writes it (TOML has no null)
                names.append("")
            elif isinstance(operand, dict) and "const" in operand:
                names.append(self.add_constant(operand["const"],
                                               operand.get("dtype", self.dtype)))
            elif isinstance(operand, dict) and "weight" in operand:
                names.append(self.add_weight(operand.get("role", "kernel"), operand["weight"],
                                             operand.get("dtype")))
            else:
                raise ValueError(f"operand {position}: {operand!r} is not 'in', None, "
                                 "{'const': ...} or {'weight': shape}")
        return names

    def subgraph(self, outputs: list[str], name: str, dtypes: list[str | None] | None = None):
        """A GraphProto of the nodes and initializers collected, without inputs of its own
        (an If's branch), its ``outputs`` typed by ``dtypes`` (per output, None: the
        builder's dtype) and shapeless, as the enclosing model's inference leaves them."""
        from onnx import helper

        dtypes = list(dtypes or [])
        values = [helper.make_tensor_value_info(
            output, tensor_type((dtypes[i] if i < len(dtypes) else None) or self.dtype), None)
            for i, output in enumerate(outputs)]
        return helper.make_graph(self.nodes, name, [], values, initializer=self.initializers)

    def model(self, outputs: list[str], opset: int, graph_name: str = "parity",
              declared: list[tuple[str, list[int]]] | None = None):
        """The ModelProto, its outputs typed by shape inference (or ``declared``, per output
        a (dtype, shape), where inference leaves them untyped or shapeless), checked in
        full."""
        import onnx
        from onnx import helper, shape_inference


        renamed = [f"output_{i}" for i in range(len(outputs))]
        if len(set(outputs)) != len(outputs) or set(outputs) & {i.name for i in self.inputs}:
            raise ValueError(f"graph outputs {outputs} repeat a tensor or name an input")
        # The tensors that leave the graph take the names output_0, ...; no Identity nodes,
        # so a converter sees the graph as an exporter would write it.
        rename = dict(zip(outputs, renamed))
        nodes = []
        for node in self.nodes:
            node = type(node).FromString(node.SerializeToString())
            _rename(node, rename)
            nodes.append(node)
        graph_outputs = ([helper.make_tensor_value_info(n, tensor_type(t), list(shape))
                          for n, (t, shape) in zip(renamed, declared)] if declared else
                         [helper.make_empty_tensor_value_info(n) for n in renamed])
        graph = helper.make_graph(nodes, graph_name, self.inputs, graph_outputs,
                                  initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="parity")
        pin_ir_version(model)
        try:
            inferred = shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
            onnx.checker.check_model(inferred, full_check=True)
        except Exception as exc:
            raise SourceError(f"the drawn ONNX graph is invalid: {type(exc).__name__}: "
                              f"{str(exc).strip()[:600]}") from exc
        untyped = [o.name for o in inferred.graph.output if not o.type.HasField("tensor_type")
                   or o.type.tensor_type.elem_type == 0]
        if untyped:
            raise SourceError(f"shape inference left outputs {untyped} without a type")
        for graph in graphs(inferred.graph):
            del graph.value_info[:]  # keep the model as an exporter writes it
        for graph in graphs(inferred.graph)[1:]:
            for output in graph.output:  # shapeless, as built: a freed batch reaches them
                output.type.tensor_type.ClearField("shape")
        return inferred

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{self.prefix}{prefix}{self._count}"


def _rename(node, rename: dict[str, str]) -> None:
    """The tensor names of ``node`` (and of the nodes of its subgraphs, which read outer
    values by name) mapped by ``rename``."""
    node.input[:] = [rename.get(n, n) for n in node.input]
    node.output[:] = [rename.get(n, n) for n in node.output]
    for attribute in node.attribute:
        for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
            for inner in sub.node:
                _rename(inner, rename)
            for output in sub.output:
                output.name = rename.get(output.name, output.name)


def node_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """The ONNX attributes among a spec's attrs (harness keys left out); a tensor-valued
    attribute is written ``{"tensor": values, "dtype": "float32"}``."""
    from onnx import numpy_helper

    out = {}
    for key, value in attrs.items():
        if key in HARNESS_KEYS:
            continue
        if isinstance(value, dict) and "tensor" in value:
            value = numpy_helper.from_array(np.asarray(value["tensor"],
                                                       dtype=value.get("dtype", "float32")))
        out[key] = value
    return out


# (attrs, input shapes, dtype) -> per node output a (dtype, shape): for the ops whose outputs
# ONNX's shape inference leaves untyped (GroupNormalization) or shapeless (MaxUnpool with an
# output_shape input).
OutputTypes = Callable[[dict[str, Any], list[tuple[int, ...]], str], list[tuple[str, list[int]]]]


def single_node(op_type: str, attrs: dict[str, Any], shapes, dtype: str, domain: str = "",
                output_types: OutputTypes | None = None):
    """A model of one ``op_type`` node fed as ``attrs[OPERANDS]`` says."""
    builder = GraphBuilder(dtype)
    inputs = builder.feed(attrs.get(OPERANDS), shapes, attrs.get(INPUT_DTYPES))
    outputs = builder.add_node(op_type, inputs, attrs, outputs=int(attrs.get(OUTPUTS, 1)),
                               domain=domain)
    declared = None if output_types is None else output_types(
        attrs, [tuple(s) for s in shapes], dtype)
    return builder.model(outputs, int(attrs.get(OPSET, DEFAULT_OPSET)), declared=declared)


def redeclare_inputs(model, shapes):
    """A copy of ``model`` whose graph inputs are declared with ``shapes`` (per input, per
    dimension: an int fixes it, a str declares it symbolic, ``dim_param``, as exporters
    write a free batch) and whose outputs are typed again by shape inference; a SourceError
    when inference refuses the shapes."""
    import onnx
    from onnx import shape_inference

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for value, shape in zip(copy.graph.input, shapes):
        dims = value.type.tensor_type.shape.dim
        for dim, size in zip(dims, shape):
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = int(size)
    # The ranks the outputs were declared with: an output that inference cannot shape (a
    # Split or Squeeze whose operand is fed at run time) keeps its rank with every dimension
    # unknown, as the IR requires a main graph's outputs to have a shape (onnx.checker:
    # "Field 'shape' of 'type' is required but missing"; onnx-simplifier refuses such a model).
    ranks = [len(output.type.tensor_type.shape.dim)
             if output.type.tensor_type.HasField("shape") else None
             for output in copy.graph.output]
    for output in copy.graph.output:
        output.type.tensor_type.ClearField("shape")
    try:
        inferred = shape_inference.infer_shapes(copy, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise SourceError(f"shape inference refuses the graph inputs declared "
                          f"{[list(s) for s in shapes]}: {type(exc).__name__}: "
                          f"{str(exc).strip()[:400]}") from exc
    for output, typed, rank in zip(copy.graph.output, inferred.graph.output, ranks):
        if typed.type.tensor_type.HasField("shape"):
            output.CopyFrom(typed)
        elif rank is not None and output.type.HasField("tensor_type"):
            dims = output.type.tensor_type.shape.dim
            for _ in range(rank):
                dims.add()  # an unknown dimension: neither dim_value nor dim_param
    return copy


def declare_outputs_as_read(model, readings: list[list[np.ndarray]]):
    """``model``, or a copy whose graph outputs declare the shapes its readings (per size, the
    outputs both readings agreed on) returned, where shape inference declared otherwise: a
    contradicted dimension set to the one size it is read at, or left unknown where sizes
    differ; a symbolic or unknown one kept (a free batch, a size a fed operand decides).

    onnx's shape inference, which types the outputs as built, sizes some nodes otherwise than
    onnxruntime and the reference evaluator compute them (a pool with ceil_mode whose last
    window would start past the input, a VALID pool with ceil_mode); an exporter declares what
    its framework computed, and what reads the declaration (onnx2tf's signature, an
    allocator) must meet what the model returns."""
    from onnx import TensorShapeProto

    copy = None
    for index, output in enumerate(model.graph.output):
        tensor = output.type.tensor_type
        if not output.type.HasField("tensor_type") or not tensor.HasField("shape"):
            continue
        shapes = {np.shape(reading[index]) for reading in readings
                  if index < len(reading) and isinstance(reading[index], np.ndarray)}
        if len({len(shape) for shape in shapes}) != 1:
            continue
        rank = len(next(iter(shapes)))
        sizes = [{shape[axis] for shape in shapes} for axis in range(rank)]
        declared = list(tensor.shape.dim)
        if len(declared) == rank and all(not d.HasField("dim_value") or {d.dim_value} == size
                                         for d, size in zip(declared, sizes)):
            continue
        dims = []
        for axis in range(rank):
            dim = TensorShapeProto.Dimension()
            if len(declared) == rank and not declared[axis].HasField("dim_value"):
                dim.CopyFrom(declared[axis])  # symbolic or unknown: as inference left it
            elif len(sizes[axis]) == 1:
                dim.dim_value = next(iter(sizes[axis]))
            dims.append(dim)
        if copy is None:
            copy = type(model)()
            copy.CopyFrom(model)
        shape = copy.graph.output[index].type.tensor_type.shape
        del shape.dim[:]
        shape.dim.extend(dims)
    return model if copy is None else copy


def weight_role(name: str) -> str | None:
    """The role an initializer's name gives a weight (``w<i>_<role>``, ``WEIGHT_ROLES``);
    None for an initializer that is not a weight (a constant operand)."""
    if not name.startswith(WEIGHT_PREFIX) or "_" not in name:
        return None
    role = name.rsplit("_", 1)[1]
    return role if role in WEIGHT_ROLES else None


def fill_weights(model, rng: np.random.Generator) -> None:
    """Gives every weight initializer a non-trivial seeded value for its role (non-zero
    biases, positive variances), in initializer order, the main graph's first, then each
    subgraph's (a branch's)."""
    from onnx import numpy_helper

    for graph in graphs(model.graph):
        for i, tensor in enumerate(graph.initializer):
            role = weight_role(tensor.name)
            if role is None:
                continue
            current = numpy_helper.to_array(tensor)
            leaf = {"kernel": "kernel", "bias": "bias", "scale": "gamma", "mean": "moving_mean",
                    "variance": "moving_variance", "beta": "beta"}[role]
            value = draw_weight(leaf, current.shape, rng).astype(current.dtype)
            graph.initializer[i].CopyFrom(numpy_helper.from_array(value, tensor.name))
