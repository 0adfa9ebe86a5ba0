"""Framework-neutral case specs and their canonical ids.

A spec is plain JSON: it names a layer kind, its attributes, the shapes and dtype of its
inputs and a seed from which every weight is derived. The canonical JSON of a spec (sorted
keys, no whitespace, floats in their shortest round-trip form) hashes to the case id, so
the same configuration has the same id on every machine and in every run.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

SPEC_SCHEMA = "parity.spec/1"
CASE_ID_LENGTH = 16
# The source a spec belongs to when it names none: every spec written before sources were
# plugins is a Keras spec, and leaving the default out of the JSON keeps their case ids.
DEFAULT_SOURCE = "keras"


class SpecError(ValueError):
    """A spec that cannot be serialised or read back."""


def _check_json_value(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where}: non-finite float {value!r} cannot be part of a spec")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(f"{where}: key {key!r} is not a string")
            _check_json_value(item, f"{where}.{key}")
        return
    raise SpecError(f"{where}: {type(value).__name__} {value!r} is not JSON-serialisable")


def _normalise(value: Any) -> Any:
    """Tuples become lists so that a spec equals its own JSON round trip."""
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def canonical_json(obj: Any) -> str:
    return json.dumps(_normalise(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class LayerSpec:
    """One case of a source: a layer kind (or a model kind) with its inputs.

    ``source`` names the source plugin that builds it (``keras``, ``onnx``, ``mat``, ...);
    ``attrs`` holds the kind's attributes under the source's own names (a Keras layer's
    constructor arguments, an ONNX node's attributes); ``input_shapes`` include the batch
    dimension; ``seed`` derives weights and input data.
    """

    kind: str
    attrs: dict[str, Any] = field(default_factory=dict)
    input_shapes: tuple[tuple[int, ...], ...] = ((1, 1),)
    dtype: str = "float32"
    seed: int = 0
    # Per input, sparse ``[flat_index, value]`` pairs written over the seeded input data:
    # Hypothesis draws them, and they shrink to nothing.
    input_overrides: tuple[tuple[tuple[int, float], ...], ...] = ()
    source: str = DEFAULT_SOURCE
    # Dimensions the source model declares free ("batch", "spatial", "time"; harness.core.axes),
    # and the further input shapes every leg runs at besides ``input_shapes``. Both are left
    # out of the JSON when empty, so specs with fixed dimensions keep their case ids.
    free_dims: tuple[str, ...] = ()
    more_shapes: tuple[tuple[tuple[int, ...], ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", _normalise(dict(self.attrs)))
        object.__setattr__(
            self, "input_shapes", tuple(tuple(int(d) for d in s) for s in self.input_shapes)
        )
        _check_json_value(self.attrs, f"{self.kind}.attrs")
        overrides = tuple(
            tuple((int(i), float(v)) for i, v in per_input) for per_input in self.input_overrides
        )
        if not any(overrides):
            overrides = ()
        object.__setattr__(self, "input_overrides", overrides)
        _check_json_value([list(o) for o in overrides], f"{self.kind}.input_overrides")
        object.__setattr__(self, "free_dims", tuple(str(d) for d in self.free_dims))
        more = tuple(tuple(tuple(int(d) for d in s) for s in shapes) for shapes in self.more_shapes)
        for j, shapes in enumerate(more):
            if len(shapes) != len(self.input_shapes):
                raise SpecError(f"{self.kind}.more_shapes[{j}]: {len(shapes)} input shapes, "
                                f"the case has {len(self.input_shapes)} inputs")
        object.__setattr__(self, "more_shapes", more)

    @property
    def all_shapes(self) -> tuple[tuple[tuple[int, ...], ...], ...]:
        """Every set of input shapes the case runs at: ``input_shapes`` first."""
        return (self.input_shapes, *self.more_shapes)

    def at_shapes(self, shapes) -> LayerSpec:
        """The same case at other input shapes (its inputs drawn for those shapes)."""
        return replace(self, input_shapes=tuple(tuple(s) for s in shapes), more_shapes=())

    def to_json(self) -> dict[str, Any]:
        data = {
            "schema": SPEC_SCHEMA,
            "kind": self.kind,
            "attrs": self.attrs,
            "input_shapes": [list(s) for s in self.input_shapes],
            "dtype": self.dtype,
            "seed": self.seed,
        }
        if self.input_overrides:
            data["input_overrides"] = [[list(p) for p in o] for o in self.input_overrides]
        if self.source != DEFAULT_SOURCE:
            data["source"] = self.source
        if self.free_dims:
            data["free_dims"] = list(self.free_dims)
        if self.more_shapes:
            data["more_shapes"] = [[list(s) for s in shapes] for shapes in self.more_shapes]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LayerSpec:
        if data.get("schema", SPEC_SCHEMA) != SPEC_SCHEMA:
            raise SpecError(f"unsupported spec schema {data.get('schema')!r}")
        try:
            return cls(
                kind=data["kind"],
                attrs=data.get("attrs", {}),
                input_shapes=tuple(tuple(s) for s in data["input_shapes"]),
                dtype=data.get("dtype", "float32"),
                seed=int(data.get("seed", 0)),
                input_overrides=tuple(
                    tuple(tuple(p) for p in o) for o in data.get("input_overrides", ())
                ),
                source=str(data.get("source", DEFAULT_SOURCE)),
                free_dims=tuple(data.get("free_dims", ())),
                more_shapes=tuple(tuple(tuple(s) for s in shapes)
                                  for shapes in data.get("more_shapes", ())),
            )
        except (KeyError, TypeError) as exc:
            raise SpecError(f"malformed spec {data!r}: {exc}") from exc

    @property
    def case_id(self) -> str:
        digest = hashlib.sha256(canonical_json(self.to_json()).encode()).hexdigest()
        return digest[:CASE_ID_LENGTH]

    def describe(self) -> str:
        """One readable line: ``Conv2D(filters=2, kernel_size=[3, 3]) on (1, 5, 5, 3)``."""
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.attrs.items()))
        shapes = ", ".join(str(s) for s in self.input_shapes)
        where = "" if self.source == DEFAULT_SOURCE else f"{self.source}:"
        free = ""
        if self.free_dims:
            also = "; ".join(", ".join(str(s) for s in shapes) for shapes in self.more_shapes)
            free = f" free {'+'.join(self.free_dims)}" + (f" (also {also})" if also else "")
        return f"{where}{self.kind}({args}) on {shapes}{free} {self.dtype} seed={self.seed}"


# Attributes of model kinds that nest layer configurations: Sequential's "layers" and
# Functional's "nodes", each item {"kind": K, "attrs": A, ...}; shared nodes
# ({"shared": j}) call node j's layer again and add no layer of their own.
NESTING_ATTRS = ("layers", "nodes")


def nested_layers(kind: str, attrs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, attrs) of a case itself and of every layer nested in it, depth first."""
    pairs: list[tuple[str, dict[str, Any]]] = []

    def visit(kind: str, attrs: dict[str, Any]) -> None:
        pairs.append((kind, attrs))
        for key in NESTING_ATTRS:
            items = attrs.get(key)
            if not isinstance(items, list):
                continue
            for item in items:
                if (isinstance(item, dict) and isinstance(item.get("kind"), str)
                        and isinstance(item.get("attrs", {}), dict)):
                    visit(item["kind"], item.get("attrs", {}))

    visit(kind, attrs)
    return pairs
