"""The forms a drawn ONNX model is written in: one function, written as exporters write it.

A spec's attrs may name up to three forms; a key left out is the form every case was built in
before forms existed, so an older spec builds byte for byte as it did:

- ``form_attrs``, the attributes that have a schema default: ``written`` as the kind drew them
  (those it draws written out, the others left out), ``omitted`` wherever the value equals the
  schema's default (the TorchScript exporter), or every one the kind left out written with its
  ``default`` value (exporters that write every attribute);
- ``form_operands``, every operand that is not the data (weights, scale and bias, axes,
  shapes, pads, indices, sizes and scales): an ``initializer``; a ``constant`` node; an
  ``input``, listed as a graph input beside its initializer (``keep_initializers_as_inputs``,
  MATLAB's exporters, every model of IR version 3: the initializer is the input's default and
  the case feeds only its data); ``fed``, a graph input without an initializer that the case
  feeds after its data (ONNX's own node tests, a graph whose weights are arguments); or
  ``shape``, a shape or size operand computed from ``Shape`` of the data where its elements
  are the data's dimensions (``x.view(x.size(0), -1)`` through torch.onnx with dynamic axes);
- ``form_opset``, the opset the model declares: the ``drawn`` one, the ``lowest`` or the
  ``newest`` at which every node keeps its op version (the same semantics under another
  ``opset_import``).

``draw_forms`` draws them, simplest first (the first is the form before forms existed), and
``settle_forms`` keeps those that change the drawn configuration's model; ``write`` applies
them to the built model once its weights are filled. The readings do not change, only the artifact.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.core.onnx_schema import schema
from harness.core.registry import Picker
from harness.sources import SourceError
from harness.sources.onnx.build import (
    DEFAULT_OPSET,
    FORM_ATTRS,
    FORM_OPERANDS,
    FORM_OPSET,
    MAX_RUNNABLE_OPSET,
    NODES,
    OPERANDS,
    OPSET,
    node_attributes,
)

WRITTEN, OMITTED, DEFAULT = "written", "omitted", "default"
INITIALIZER, CONSTANT, INPUT, FED, SHAPE = "initializer", "constant", "input", "fed", "shape"
DRAWN, LOWEST, NEWEST = "drawn", "lowest", "newest"
FORMS: dict[str, tuple[str, ...]] = {
    FORM_ATTRS: (WRITTEN, OMITTED, DEFAULT),
    FORM_OPERANDS: (INITIALIZER, CONSTANT, INPUT, FED, SHAPE),
    FORM_OPSET: (DRAWN, LOWEST, NEWEST),
}
AS_BEFORE = {key: values[0] for key, values in FORMS.items()}

# The nodes and tensors a form adds are named with this prefix (the per-node diagnosis
# leaves them out: they are how the model is written, not what it computes).
PREFIX = "form_"
# (op type, input position) of the shape and size operands an exporter computes from
# ``Shape`` of the data: Reshape's and Expand's shape, Resize's sizes, Slice's ends,
# MaxUnpool's output_shape.
SHAPE_OPERANDS = frozenset({("Reshape", 1), ("Expand", 1), ("Resize", 3), ("Slice", 2),
                            ("MaxUnpool", 2)})
# Constant takes every tensor type from Constant-9 (Constant-1: floats only); the Shape →
# Gather → Concat that the shape form adds hold there too.
EVERY_TYPE_SINCE = 9
# The oldest opset a model is declared at: onnxruntime supports opset 7 on (below it, its
# CPU provider writes float16 casts as Cast-1 cannot hold them, and refuses its own graph).
RUNNABLE_FROM = 7


def form_domains(op_type: str | None, opsets: Sequence[int], operands: bool = True
                 ) -> dict[str, list[str]]:
    """The form keys a kind is drawn along, each with every form: ``form_attrs`` where its op
    has an attribute with a schema default at one of ``opsets`` (a graph kind: always),
    ``form_operands`` where it takes more than one input and can take one that is not the
    data (``operands``), ``form_opset`` always."""
    domains = {}
    if op_type is None or any(_defaults(op_type, opset) for opset in opsets):
        domains[FORM_ATTRS] = list(FORMS[FORM_ATTRS])
    if operands and (op_type is None or any(_inputs(op_type, opset) > 1 for opset in opsets)):
        domains[FORM_OPERANDS] = list(FORMS[FORM_OPERANDS])
    domains[FORM_OPSET] = list(FORMS[FORM_OPSET])
    return domains


# -- drawing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpecNode:
    """One node as its spec draws it, before any model is built."""

    op_type: str
    attributes: dict[str, Any]  # its ONNX attributes
    operands: tuple[Any, ...]  # per input: a graph input or node output, "" or a const/weight
    data_shape: tuple[int, ...] | None  # its first input's shape, where that is a graph input


def spec_nodes(attrs: dict[str, Any], shapes: Sequence[Sequence[int]],
               op_type: str | None = None) -> list[SpecNode]:
    """The nodes of a drawn configuration: one ``op_type`` node, or a graph's ``nodes``."""
    if op_type is None:
        return [SpecNode(node["kind"], node_attributes(node.get("attrs") or {}),
                         tuple(node.get("inputs", ())), _graph_input_shape(node, shapes))
                for node in attrs[NODES]]
    operands = attrs.get(OPERANDS) or ["in"] * len(shapes)
    data = tuple(shapes[0]) if operands and operands[0] == "in" and shapes else None
    return [SpecNode(op_type, node_attributes(attrs), tuple(operands), data)]


def _graph_input_shape(node: dict[str, Any], shapes) -> tuple[int, ...] | None:
    first = (node.get("inputs") or [None])[0]
    if isinstance(first, str) and first.startswith("input_"):
        return tuple(shapes[int(first.split("_", 1)[1])])
    return None


def draw_forms(pick: Picker, keys: Sequence[str] = tuple(FORMS)) -> dict[str, str]:
    """Draws each form the kind is drawn along (``keys``) among them all, before the kind's
    own configuration: its choices then come first and keep their shape whatever the
    configuration, so that Hypothesis shrinks the configuration after them (a graph losing a
    block) as it did before forms existed. ``settle_forms`` keeps those that apply."""
    return {key: pick(key) for key in FORMS if key in keys}


def settle_forms(attrs: dict[str, Any], shapes, drawn: dict[str, str],
                 op_type: str | None = None) -> None:
    """Writes into ``attrs`` each drawn form, where the configuration has a choice for its
    key: a form that would not change its model becomes the first form, and a key whose
    every other form would not is left out."""
    nodes = spec_nodes(attrs, shapes, op_type)
    opset = int(attrs.get(OPSET, DEFAULT_OPSET))
    for key, applies in ((FORM_ATTRS, lambda: attribute_forms(nodes, opset)),
                         (FORM_OPERANDS, lambda: operand_forms(nodes, opset)),
                         (FORM_OPSET, lambda: opset_forms(
                             nodes, opset, attrs.get(FORM_OPERANDS, INITIALIZER)))):
        if key not in drawn:
            continue
        among = applies()
        if len(among) > 1:
            attrs[key] = drawn[key] if drawn[key] in among else among[0]


def attribute_forms(nodes: Sequence[SpecNode], opset: int) -> list[str]:
    """``written``, then ``omitted`` where an attribute is written at its default and
    ``default`` where one with a default is left out."""
    forms = [WRITTEN]
    at_default = left_out = False
    for node in nodes:
        defaults = _defaults(node.op_type, opset)
        at_default |= any(name in defaults and _same(_attribute(name, value), defaults[name])
                          for name, value in node.attributes.items())
        left_out |= bool(set(defaults) - set(node.attributes))
    if at_default:
        forms.append(OMITTED)
    if left_out:
        forms.append(DEFAULT)
    return forms


def operand_forms(nodes: Sequence[SpecNode], opset: int) -> list[str]:
    """Every operand form where a node has an operand that is not the data: a constant node
    where Constant takes its type at ``opset``, graph inputs but where a Resize's sizes are
    computed, ``shape`` where a shape or size operand holds a dimension of a graph input it
    is applied to."""
    operands = [(node, position, operand) for node in nodes
                for position, operand in enumerate(node.operands) if isinstance(operand, dict)]
    if not operands:
        return [INITIALIZER]
    forms = [INITIALIZER]
    if opset >= EVERY_TYPE_SINCE or not any(_integer(o) for _, _, o in operands):
        forms.append(CONSTANT)
    if not any(_sizes_computed(node) for node in nodes):
        forms += [INPUT, FED]
    if opset >= EVERY_TYPE_SINCE and any(_shape_operand(*entry) for entry in operands):
        forms.append(SHAPE)
    return forms


def opset_forms(nodes: Sequence[SpecNode], opset: int, operand_form: str) -> list[str]:
    """``drawn``, then ``lowest`` and ``newest`` where they differ from ``opset``."""
    integers = any(isinstance(o, dict) and _integer(o) for node in nodes for o in node.operands)
    low, high = opset_range([node.op_type for node in nodes], opset,
                            _floor(operand_form, integers))
    return [DRAWN, *([LOWEST] if low < opset else []), *([NEWEST] if high > opset else [])]


def _floor(operand_form: str, integers: bool) -> int:
    """The lowest opset a model can be declared at: onnxruntime's, or the one that holds the
    nodes an operand form adds (``integers``: some operand is not a float)."""
    if operand_form == SHAPE or (operand_form == CONSTANT and integers):
        return EVERY_TYPE_SINCE
    return RUNNABLE_FROM


def _sizes_computed(node: SpecNode) -> bool:
    """A Resize whose sizes another node computes (Shape → Slice → Concat): as graph inputs,
    the constants it is computed from leave its length unknown, and onnx's shape inference,
    which onnxruntime runs too, refuses the model (onnx-resize-sizes-of-unknown-values)."""
    sizes = node.operands[3] if node.op_type == "Resize" and len(node.operands) > 3 else ""
    return not isinstance(sizes, (dict, str))


def _integer(operand: dict[str, Any]) -> bool:
    """An operand of an integer or boolean type (its own dtype; else the case's float)."""
    return "dtype" in operand and np.dtype(operand["dtype"]).kind in "iub"


def _shape_operand(node: SpecNode, position: int, operand: dict[str, Any]) -> bool:
    if (node.op_type, position) not in SHAPE_OPERANDS or node.data_shape is None \
            or "const" not in operand or operand.get("dtype") != "int64":
        return False
    values = np.asarray(operand["const"])
    return values.ndim == 1 and bool(from_shape(values, node.data_shape, free=False))


def from_shape(values: np.ndarray, dims: Sequence[int], free: bool) -> list[int]:
    """The elements of a shape operand that a graph takes from ``Shape`` of its data: those
    equal to the data's dimension at the same position, the batch not where it is free (a
    constant there stays one at every batch)."""
    return [j for j, value in enumerate(values.tolist())
            if j < len(dims) and value == dims[j] and not (free and j == 0)]


# -- schemas --------------------------------------------------------------------------------

@functools.cache
def _defaults(op_type: str, opset: int) -> dict[str, Any]:
    """The schema's default of each attribute of ``op_type`` at ``opset`` that has one (an
    AttributeProto); empty at an opset the op is not in."""
    try:
        attributes = schema(op_type, opset).attributes
    except Exception:  # noqa: BLE001 (an opset the op is not in)
        return {}
    return {name: a.default_value for name, a in attributes.items() if a.default_value.name}


def _inputs(op_type: str, opset: int) -> int:
    """How many inputs ``op_type`` has at ``opset`` (0 at an opset it is not in)."""
    try:
        return len(schema(op_type, opset).inputs)
    except Exception:  # noqa: BLE001 (an opset the op is not in)
        return 0


def _attribute(name: str, value: Any):
    from onnx import helper

    try:
        return helper.make_attribute(name, value)
    except (TypeError, ValueError):  # an empty list: no type, so no default it can equal
        return None


def _same(attribute, default) -> bool:
    from onnx import helper

    if attribute is None or attribute.type != default.type:
        return False
    value, wanted = helper.get_attribute_value(attribute), helper.get_attribute_value(default)
    if hasattr(value, "SerializeToString"):
        return value.SerializeToString() == wanted.SerializeToString()
    return value == wanted


def _versions(op_type: str) -> tuple[int, ...]:
    """Every version of an op of the default domain: the opsets that changed it."""
    return _default_domain_versions().get(op_type, ())


@functools.cache
def _default_domain_versions() -> dict[str, tuple[int, ...]]:
    # One pass over every schema: onnx builds the whole list (thousands) on each call.
    from onnx import defs

    found: dict[str, set[int]] = {}
    for op in defs.get_all_schemas_with_history():
        if op.domain == "":
            found.setdefault(op.name, set()).add(op.since_version)
    return {name: tuple(sorted(versions)) for name, versions in found.items()}


def opset_range(op_types: Sequence[str], opset: int, floor: int = RUNNABLE_FROM
                ) -> tuple[int, int]:
    """The lowest and the newest opset (onnxruntime runs up to MAX_RUNNABLE_OPSET) at which
    each op keeps the version it has at ``opset``; the lowest at least ``floor``."""
    low, high = floor, MAX_RUNNABLE_OPSET
    for op_type in set(op_types):
        version = schema(op_type, opset).since_version
        later = [v for v in _versions(op_type) if v > version]
        low = max(low, version)
        high = min(high, later[0] - 1 if later else MAX_RUNNABLE_OPSET)
    return min(low, opset), max(high, opset)


# -- writing the model ----------------------------------------------------------------------

def chosen(attrs: dict[str, Any]) -> dict[str, str]:
    """The forms a spec names, the first form for each it leaves out."""
    found = {key: attrs.get(key, first) for key, first in AS_BEFORE.items()}
    for key, form in found.items():
        if form not in FORMS[key]:
            raise SourceError(f"{key} {form!r} is none of {', '.join(FORMS[key])}")
    return found


def write(model, attrs: dict[str, Any], free: bool = False) -> tuple[Any, list[np.ndarray]]:
    """The model written in the forms ``attrs`` names, and the arrays a run feeds after the
    case's inputs (the ``fed`` operands, in initializer order). ``free``: the case's batch is
    free, so the shape form takes no batch from ``Shape``. The model itself where every form
    is the first."""
    forms = chosen(attrs)
    if forms == AS_BEFORE:
        return model, []
    import onnx

    written = onnx.ModelProto()
    written.CopyFrom(model)
    graph = written.graph
    opset = declared_opset(written)
    op_types = [node.op_type for node in graph.node]
    integers = any(_integer_tensor(t) for t in graph.initializer)
    if forms[FORM_ATTRS] != WRITTEN:
        _write_attributes(graph, opset, forms[FORM_ATTRS])
    fed = _write_operands(graph, forms[FORM_OPERANDS], free)
    if forms[FORM_OPSET] != DRAWN:
        low, high = opset_range(op_types, opset, _floor(forms[FORM_OPERANDS], integers))
        _declare_opset(written, low if forms[FORM_OPSET] == LOWEST else high)
    try:
        onnx.checker.check_model(written, full_check=True)
    except Exception as exc:
        raise SourceError(f"the ONNX model written in the forms {forms} is invalid: "
                          f"{type(exc).__name__}: {str(exc).strip()[:600]}") from exc
    return written, fed


def runtime_inputs(model) -> list[str]:
    """The graph inputs a run feeds: those without an initializer behind them."""
    backed = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in backed]


def declared_opset(model) -> int:
    return next((entry.version for entry in model.opset_import
                 if entry.domain in ("", "ai.onnx")), DEFAULT_OPSET)


def _declare_opset(model, opset: int) -> None:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = opset


def _integer_tensor(tensor) -> bool:
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).kind in "iub"


def _write_attributes(graph, opset: int, form: str) -> None:
    """Each node's attributes at their schema default left out (``omitted``), or those it
    leaves out written with their default (``default``)."""
    from onnx import AttributeProto

    for node in graph.node:
        defaults = _defaults(node.op_type, opset)
        if form == OMITTED:
            kept = [a for a in node.attribute
                    if not (a.name in defaults and _same(a, defaults[a.name]))]
            del node.attribute[:]
            node.attribute.extend(kept)
            continue
        present = {a.name for a in node.attribute}
        for name in sorted(set(defaults) - present):
            attribute = AttributeProto()
            attribute.CopyFrom(defaults[name])
            attribute.name = name
            node.attribute.append(attribute)


def _write_operands(graph, form: str, free: bool) -> list[np.ndarray]:
    from onnx import helper, numpy_helper

    if form == INITIALIZER:
        return []
    if form == SHAPE:
        _shapes_from_shape(graph, free)
        return []
    tensors = list(graph.initializer)
    if form == CONSTANT:
        constants = [helper.make_node("Constant", [], [t.name], name=f"{PREFIX}constant_{i}",
                                      value=t) for i, t in enumerate(tensors)]
        nodes = [*constants, *graph.node]
        del graph.node[:]
        graph.node.extend(nodes)
        del graph.initializer[:]
        return []
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                       for t in tensors)
    if form == INPUT:
        return []
    del graph.initializer[:]
    return [numpy_helper.to_array(t) for t in tensors]


def _shapes_from_shape(graph, free: bool) -> None:
    """Each shape or size operand (SHAPE_OPERANDS) applied to a graph input computed from
    ``Shape`` of it where its elements are its dimensions (``from_shape``), the others
    constants: Shape → Gather → Concat, as torch.onnx writes ``x.view(x.size(0), -1)``."""
    from onnx import numpy_helper

    known = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
             for i in graph.input
             if all(d.HasField("dim_value") for d in i.type.tensor_type.shape.dim)}
    initializers = {t.name: t for t in graph.initializer}
    nodes, removed, added = [], set(), []
    for node in graph.node:
        for position, name in enumerate(node.input):
            if (node.op_type, position) not in SHAPE_OPERANDS or name not in initializers \
                    or node.input[0] not in known:
                continue
            values = numpy_helper.to_array(initializers[name])
            taken = from_shape(values, known[node.input[0]], free) \
                if values.dtype == np.int64 and values.ndim == 1 else []
            if taken:
                made, constants = _computed(name, node.input[0], values, taken,
                                             len(known[node.input[0]]))
                nodes += made
                added += constants
                removed.add(name)
        nodes.append(node)
    kept = [t for t in graph.initializer if t.name not in removed]
    del graph.initializer[:]
    graph.initializer.extend([*kept, *added])
    del graph.node[:]
    graph.node.extend(nodes)


def _computed(name: str, data: str, values: np.ndarray, taken: list[int], rank: int):
    """The nodes that compute ``values`` (tensor ``name``) from ``Shape(data)``, and the
    constants they read."""
    from onnx import helper, numpy_helper

    stem = f"{PREFIX}{name}"
    shape_of = f"{stem}_shape"
    if len(values) == rank and taken == list(range(rank)):  # the data's shape itself
        return [helper.make_node("Shape", [data], [name], name=shape_of)], []
    nodes = [helper.make_node("Shape", [data], [shape_of], name=shape_of)]
    constants, pieces = [], []
    for from_data, run in _runs(len(values), set(taken)):
        piece = f"{stem}_{len(pieces)}"
        if from_data:
            indices = f"{piece}_indices"
            constants.append(numpy_helper.from_array(np.asarray(run, np.int64), indices))
            nodes.append(helper.make_node("Gather", [shape_of, indices], [piece], name=piece,
                                          axis=0))
        else:
            constants.append(numpy_helper.from_array(values[run].astype(np.int64), piece))
        pieces.append(piece)
    nodes.append(helper.make_node("Concat", pieces, [name], name=f"{stem}_concat", axis=0))
    return nodes, constants


def _runs(count: int, taken: set[int]) -> list[tuple[bool, list[int]]]:
    """Positions 0..count-1 in maximal runs, each (from the data's shape, positions)."""
    runs: list[tuple[bool, list[int]]] = []
    for j in range(count):
        if runs and runs[-1][0] == (j in taken):
            runs[-1][1].append(j)
        else:
            runs.append((j in taken, [j]))
    return runs
