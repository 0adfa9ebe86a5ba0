"""Checking cache hits against cold results (``--parity-cache-verify FRACTION``).

A sample of the hits, drawn by a hash of the seed and the entry's key (so that a rerun
checks the same entries), is made again without the cache and compared with what the entry
held: a reading's arrays and wording, a stage's artifact, a run's outputs. Arrays must be
equal bit for bit. ONNX models must be equal up to the names their converter numbers per
process: tf2onnx names a free dimension ``unk__6`` in one conversion and ``unk__11`` in the
next, so models are compared with their value, node and dimension names renamed in the
order they first appear. Any other difference is a ``CacheMismatch``: the key missed
something that decides the output.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

VERIFY_ENV = "PARITY_CACHE_VERIFY"


class CacheMismatch(Exception):
    """A cache hit differs from the result made without the cache: the key is missing
    something that decides the output. Fails the case; never a leg's verdict."""


def fraction(text: str | float | None) -> float:
    """A fraction of hits to verify, 0 to 1 (an option's or ``PARITY_CACHE_VERIFY``'s text;
    None or empty: 0)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return 0.0
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a fraction of cache hits to verify is between 0 and 1, not {text}")
    return value


def from_environment() -> float:
    try:
        return fraction(os.environ.get(VERIFY_ENV))
    except ValueError as exc:
        raise ValueError(f"{VERIFY_ENV}: {exc}") from None


def sampled(key: str, share: float, seed: int = 0) -> bool:
    """Whether the entry of ``key`` is in the sample: the same answer on every run."""
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    draw = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:16], 16) / 2.0 ** 64
    return draw < share


# -- what differs ------------------------------------------------------------------------
def arrays_difference(cached: dict[str, Any], cold: dict[str, Any]) -> str | None:
    """The first difference between two sets of named arrays, bit for bit, or None."""
    if list(cached) != list(cold):
        return f"the entry holds arrays {list(cached)}, the cold result {list(cold)}"
    for name in cached:
        difference = array_difference(np.asarray(cached[name]), np.asarray(cold[name]))
        if difference is not None:
            return f"{name}: {difference}"
    return None


def array_difference(cached: np.ndarray, cold: np.ndarray) -> str | None:
    if cached.dtype != cold.dtype or cached.shape != cold.shape:
        return (f"{cached.dtype}{list(cached.shape)} in the entry, {cold.dtype}"
                f"{list(cold.shape)} cold")
    if np.ascontiguousarray(cached).tobytes() == np.ascontiguousarray(cold).tobytes():
        return None
    if cached.dtype.kind not in "biufc":
        return "the values differ"
    unequal = cached != cold
    gap = np.max(np.abs(cached.astype(np.complex128) - cold.astype(np.complex128)))
    return (f"{int(np.count_nonzero(unequal))} of {cached.size} values differ "
            f"(max abs diff {float(gap):.6g})")


def outputs_difference(cached: list, cold: list) -> str | None:
    return arrays_difference({f"output {i}": x for i, x in enumerate(cached)},
                             {f"output {i}": x for i, x in enumerate(cold)})


def fields_difference(cached: dict[str, Any], cold: dict[str, Any]) -> str | None:
    """An artifact's format, input names or metadata, where they differ."""
    for field in sorted(set(cached) | set(cold)):
        if cached.get(field) != cold.get(field):
            return f"its {field}: {cached.get(field)!r} in the entry, {cold.get(field)!r} cold"
    return None


def model_difference(cached, cold) -> str | None:
    """How two ONNX models differ, names a converter numbers per process aside; None where
    they do not."""
    if cached.SerializeToString() == cold.SerializeToString():
        return None
    left, right = canonical(cached), canonical(cold)
    if left.SerializeToString() == right.SerializeToString():
        return None
    if len(left.graph.node) != len(right.graph.node):
        return f"{len(left.graph.node)} nodes in the entry's model, {len(right.graph.node)} cold"
    for i, (a, b) in enumerate(zip(left.graph.node, right.graph.node)):
        if a != b:
            return (f"node {i} ({cached.graph.node[i].op_type} {cached.graph.node[i].name!r} "
                    f"in the entry's model, {cold.graph.node[i].op_type} "
                    f"{cold.graph.node[i].name!r} cold) differs")
    for i, (a, b) in enumerate(zip(left.graph.initializer, right.graph.initializer)):
        if a != b:
            return f"initializer {cached.graph.initializer[i].name!r} differs"
    return ("the models differ outside their nodes and initializers (inputs, outputs, opsets "
            "or metadata)")


def canonical(model):
    """A copy of an ONNX model with its graphs', nodes', values' and free dimensions' names
    replaced by their order of first appearance."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    tables: dict[str, dict[str, str]] = {"value": {}, "node": {}, "dim": {}, "graph": {}}
    _rename_graph(copy.graph, tables)
    return copy


def _renamed(table: dict[str, str], name: str, prefix: str) -> str:
    if not name:
        return name
    return table.setdefault(name, f"{prefix}{len(table)}")


def _rename_graph(graph, tables) -> None:
    import onnx

    graph.name = _renamed(tables["graph"], graph.name, "g")
    for info in graph.input:
        _rename_value_info(info, tables)
    for tensor in graph.initializer:
        tensor.name = _renamed(tables["value"], tensor.name, "v")
    for node in graph.node:
        node.name = _renamed(tables["node"], node.name, "n")
        node.input[:] = [_renamed(tables["value"], name, "v") for name in node.input]
        node.output[:] = [_renamed(tables["value"], name, "v") for name in node.output]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _rename_graph(attribute.g, tables)
            for subgraph in attribute.graphs:
                _rename_graph(subgraph, tables)
    for info in (*graph.output, *graph.value_info):
        _rename_value_info(info, tables)


def _rename_value_info(info, tables) -> None:
    info.name = _renamed(tables["value"], info.name, "v")
    kind = info.type.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        for dim in getattr(info.type, kind).shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_param = _renamed(tables["dim"], dim.dim_param, "d")
