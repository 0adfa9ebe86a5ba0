"""Declaring ONNX op kinds: one ``op_kind`` (or ``unary``/``binary``) call per op.

A kind's domains name the op's attributes under their ONNX names, values simplest first
(the schema's default first where it has one); ``op_kind`` checks them against
``onnx.defs.get_schema`` so that a misspelt attribute fails at import, and ``undrawn``
lists the schema attributes a kind leaves at their defaults (the coverage report shows
them). Every kind also draws its opset (``OPSETS``, the default first) and its dtype from
the op's type constraints (float32 first).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from harness.core.known_issues import register_attribute_defaults
from harness.core.onnx_schema import NEWEST_OPSET, attribute_defaults, schema
from harness.core.registry import LayerKind, Picker, register
from harness.sources.onnx.build import (
    DEFAULT_OPSET,
    HARNESS_KEYS,
    MAX_RUNNABLE_OPSET,
    OPSET,
    VALUE_RANGE,
    OutputTypes,
    single_node,
)
from harness.sources.onnx.forms import FORMS, draw_forms, form_domains, settle_forms

SOURCE = "onnx"
OLDEST_OPSET = 13
OPSETS = [DEFAULT_OPSET, *[v for v in range(OLDEST_OPSET, NEWEST_OPSET + 1)
                           if v != DEFAULT_OPSET]]

FLOAT = "float32"
FLOATS = ("float32", "float16", "float64")
INTS = ("int32", "int64")
NUMERIC = (*FLOATS, *INTS)
# onnx type strings the harness draws inputs of, simplest first
TYPE_STRINGS = {"tensor(float)": "float32", "tensor(float16)": "float16",
                "tensor(double)": "float64", "tensor(int32)": "int32", "tensor(int64)": "int64",
                "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(bool)": "bool"}
DTYPE_ORDER = ("float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool")

# Domain keys that shape a case rather than name an ONNX attribute.
SHAPE_KNOBS = frozenset({"rank", "dims", "batch", "channels", "broadcast", "dtype", "opset",
                         "spatial", "layout", "form", "operand_form", "keepdims_form",
                         "axes_form", "size"})


def schema_defaults(kind: str, opset: int | None = None) -> dict[str, Any]:
    """The schema's default attribute values of an op kind at ``opset`` (the newest drawn
    when None); empty for a kind that is not one node."""
    if kind not in OP_TYPES:
        return {}
    op_type, domain = OP_TYPES[kind]
    return dict(attribute_defaults(op_type, int(opset or NEWEST_OPSET), domain))


def since(op_type: str, domain: str = "") -> int:
    """The first opset that has ``op_type``."""
    first = _first_opsets().get((op_type, domain))
    if first is None:
        raise ValueError(f"ONNX has no op {op_type!r} in domain {domain!r}")
    return first


@functools.cache
def _first_opsets() -> dict[tuple[str, str], int]:
    """Every op's first opset, by (op type, domain): read once, not once per kind (ONNX
    lists some 2,000 schemas)."""
    from onnx import defs

    first: dict[tuple[str, str], int] = {}
    for entry in defs.get_all_schemas_with_history():
        key = (entry.name, entry.domain)
        first[key] = min(first.get(key, entry.since_version), entry.since_version)
    return first


def opsets_for(op_type: str, domain: str = "") -> list[int]:
    first = since(op_type, domain)
    return [v for v in OPSETS if v >= first] or [max(first, DEFAULT_OPSET)]


def allowed_dtypes(op_type: str, opset: int, input_index: int = 0,
                   among: Sequence[str] = NUMERIC) -> list[str]:
    """The dtypes the op's type constraint admits for one input, among ``among``, in
    DTYPE_ORDER."""
    op = schema(op_type, opset)
    formal = op.inputs[min(input_index, len(op.inputs) - 1)]
    allowed: set[str] = set()
    for constraint in op.type_constraints:
        if constraint.type_param_str == formal.type_str:
            allowed = {TYPE_STRINGS[t] for t in constraint.allowed_type_strs if t in TYPE_STRINGS}
            break
    else:
        allowed = {TYPE_STRINGS[formal.type_str]} if formal.type_str in TYPE_STRINGS else set()
    return [d for d in DTYPE_ORDER if d in allowed and d in among]


# kind name -> (op type, domain) of the kinds that are one node
OP_TYPES: dict[str, tuple[str, str]] = {}


def undrawn(kind: LayerKind) -> list[str]:
    """The op's schema attributes that the kind never draws (left at their defaults)."""
    if kind.name not in OP_TYPES:
        return []
    op_type, domain = OP_TYPES[kind.name]
    return sorted(set(schema(op_type, NEWEST_OPSET, domain).attributes) - set(kind.domains))


def _check_domains(op_type: str, domains: dict[str, Sequence[Any]], domain: str) -> None:
    attributes: set[str] = set()
    for opset in range(since(op_type, domain), MAX_RUNNABLE_OPSET + 1):
        try:
            attributes |= set(schema(op_type, opset, domain).attributes)
        except Exception:
            continue
    unknown = set(domains) - attributes - SHAPE_KNOBS - HARNESS_KEYS
    if unknown:
        raise ValueError(f"ONNX {op_type} has no attribute(s) {sorted(unknown)}; its "
                         f"attributes: {sorted(attributes)}")


DrawFn = Callable[[Picker], tuple[dict[str, Any], list[tuple[int, ...]], str]]


def op_kind(op_type: str, family: str, draw: DrawFn, domains: dict[str, Sequence[Any]] | None = None,
            *, name: str | None = None, doc: str = "", domain: str = "",
            tags: frozenset[str] = frozenset(),
            output_types: OutputTypes | None = None,
            dtypes: Sequence[str] | None = None, free_batch: bool = True,
            operands: bool = True) -> LayerKind:
    """Registers an ONNX kind: ``draw(pick)`` returns (attrs, input shapes, dtype), attrs
    holding the opset and the node's attributes; the model is one ``op_type`` node, its
    outputs typed by shape inference or by ``output_types``. ``dtypes`` declares the dtypes
    the draw gives (None: float32 and every one the source builds, ``ONNX_DTYPES``); the
    kind is drawn along the dtype axes among them (tests/test_dtypes.py measures the draws
    against it). ``free_batch=False`` keeps the batch fixed in every case, for an op whose
    configurations read at one batch only (``python -m harness.tools.measure_free_dims
    --onnx`` measures it); otherwise a case has its batch free where its configuration lets
    it (harness.sources.onnx.axes). Every kind is also drawn in the forms exporters write
    (harness.sources.onnx.forms): its attributes at their defaults written or not, its
    operands that are not the data (``operands=False``: it takes none) as initializers,
    constants or graph inputs, its opset the lowest or newest that keeps its op version."""
    opsets = opsets_for(op_type, domain)
    domains = {OPSET: opsets, **(domains or {}), **form_domains(op_type, opsets, operands)}
    _check_domains(op_type, domains, domain)

    def build_model(attrs, shapes, dtype):
        return single_node(op_type, attrs, shapes, dtype, domain=domain,
                           output_types=output_types)

    OP_TYPES[name or op_type] = (op_type, domain)
    return register(LayerKind(
        name=name or op_type, family=family, domains=domains,
        draw=in_forms(draw, domains, op_type), build_model=build_model, doc=doc or f"{op_type} (ONNX)", source=SOURCE, tags=tags,
        knobs=frozenset(domains) & SHAPE_KNOBS,
        dtypes=None if dtypes is None else tuple(d for d in dtypes if d != FLOAT),
        free_dims=None if free_batch else (),
    ))


def in_forms(draw: DrawFn, domains: dict[str, Sequence[Any]],
             op_type: str | None = None) -> DrawFn:
    """A kind's draw in the forms its configuration is written in (one ``op_type`` node, or
    a graph's nodes where it is None), each a key of the kind's ``domains``: every kind
    draws them here, before its own draw (harness.sources.onnx.forms.draw_forms)."""
    keys = tuple(key for key in FORMS if key in domains)

    @functools.wraps(draw)  # the kind's own draw, by name and module, drawn in its forms
    def draw_written(pick: Picker):
        drawn = draw_forms(pick, keys)
        attrs, shapes, dtype = draw(pick)
        attrs = dict(attrs)
        settle_forms(attrs, shapes, drawn, op_type)
        return attrs, shapes, dtype

    return draw_written


# -- common draws -----------------------------------------------------------------------------

def shape(pick: Picker, rank: int | None = None, low: int = 1, high: int = 4,
          min_rank: int = 1, max_rank: int = 4) -> tuple[int, ...]:
    """A shape, shrinking towards rank ``min_rank`` and sizes ``low``."""
    rank = rank if rank is not None else pick.draw(st.integers(min_rank, max_rank))
    return tuple(pick.draw(st.integers(low, high)) for _ in range(rank))


def broadcast_pair(pick: Picker, rank_max: int = 4) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast (numpy rules): equal first, then some axes of one at 1 or
    the other of lower rank."""
    first = shape(pick, max_rank=rank_max)
    form = pick.draw(st.sampled_from(["same", "ones", "suffix"]))
    if form == "same":
        return first, first
    if form == "ones":
        second = tuple(1 if pick.draw(st.booleans()) else d for d in first)
        return (first, second) if pick.draw(st.booleans()) else (second, first)
    keep = pick.draw(st.integers(1, len(first)))
    return first, first[len(first) - keep:]


def opset_and_dtype(pick: Picker, op_type: str, among: Sequence[str] = FLOATS,
                    input_index: int = 0) -> tuple[int, str]:
    opset = pick(OPSET)
    dtypes = allowed_dtypes(op_type, opset, input_index, among)
    if not dtypes:
        raise ValueError(f"{op_type} at opset {opset} admits none of {list(among)}")
    return opset, pick.dtype(dtypes)


def pick_attributes(pick: Picker, names: Sequence[str]) -> dict[str, Any]:
    return {name: pick(name) for name in names}


def _elementwise_attrs(pick: Picker, op_type: str, dtypes: Sequence[str], domains,
                       value_range: list | None) -> tuple[dict[str, Any], str]:
    """An elementwise op's opset, attributes and value range, and its dtype."""
    opset, dtype = opset_and_dtype(pick, op_type, dtypes)
    attrs = {OPSET: opset, **pick_attributes(pick, list(domains))}
    if value_range is not None:
        attrs[VALUE_RANGE] = value_range
    return attrs, dtype


def unary(op_type: str, family: str, domains: dict[str, Sequence[Any]] | None = None, *,
          dtypes: Sequence[str] = FLOATS, value_range: Any = None,
          name: str | None = None) -> LayerKind:
    """An elementwise op of one input: every attribute in ``domains`` drawn."""
    domains = dict(domains or {})

    def draw(pick: Picker):
        attrs, dtype = _elementwise_attrs(pick, op_type, dtypes, domains,
                                          None if value_range is None else [value_range])
        return attrs, [shape(pick)], dtype

    return op_kind(op_type, family, draw, domains, name=name, dtypes=dtypes, operands=False)


def binary(op_type: str, family: str, domains: dict[str, Sequence[Any]] | None = None, *,
           dtypes: Sequence[str] = FLOATS, value_range: Sequence[Any] | None = None,
           name: str | None = None) -> LayerKind:
    """An elementwise op of two broadcasting inputs."""
    domains = dict(domains or {})

    def draw(pick: Picker):
        attrs, dtype = _elementwise_attrs(pick, op_type, dtypes, domains,
                                          None if value_range is None else list(value_range))
        return attrs, list(broadcast_pair(pick)), dtype

    return op_kind(op_type, family, draw, domains, name=name, dtypes=dtypes, operands=False)


# A known issue naming an attribute's value matches an ONNX case that leaves it at its default.
register_attribute_defaults(SOURCE, schema_defaults)
