"""The registry of layer kinds.

A layer kind bundles everything the harness knows about one Keras layer: the documented
values of its attributes (``domains``, simplest first, so that Hypothesis shrinks towards
the first), a ``draw`` function that picks a consistent configuration and input shapes,
and a ``build`` function that constructs the layer. Families live in ``harness.layers``,
one file each; registering a kind is one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Shapes = list[tuple[int, ...]]

# Domain entries that shape a case's inputs (or the form of an attribute) rather than name a
# constructor argument: listed by ``parity layers``, left out of attribute coverage.
INPUT_KNOBS = frozenset(
    {"batch", "channels", "rank", "inputs", "symmetric", "infer_one_axis", "target_rank",
     "stack", "node_op", "extra_output"}
)
Attrs = dict[str, Any]


class Picker:
    """Draws attribute values from a kind's documented domains, inside a composite strategy."""

    def __init__(self, draw: Callable[[Any], Any], domains: Mapping[str, Sequence[Any]]):
        self._draw = draw
        self._domains = domains

    def __call__(self, attr: str, among: Sequence[Any] | None = None) -> Any:
        """One value of ``attr``; ``among`` narrows the domain to values valid in context."""
        from hypothesis import strategies as st

        values = list(self._domains[attr]) if among is None else list(among)
        if not values:
            raise ValueError(f"no valid value left for attribute {attr!r}")
        return self._draw(st.sampled_from(values))

    def draw(self, strategy: Any) -> Any:
        return self._draw(strategy)


DrawFn = Callable[[Picker], tuple[Attrs, Shapes]]


@dataclass(frozen=True)
class LayerKind:
    name: str
    family: str
    domains: Mapping[str, Sequence[Any]]
    draw: DrawFn
    build: Callable[[Attrs], Any] | None = None
    doc: str = ""
    # For kinds that are whole models (graphs, applications): builds the Keras model from
    # (attrs, input_shapes, dtype) instead of wrapping one layer in a one-layer model.
    build_model: Callable[[Attrs, Shapes, str], Any] | None = None
    # Runs after the seeded weights are set on a ``build_model`` model, with the model and
    # the spec: a deep model re-derives what random weights leave unhealthy (batch-norm
    # statistics calibrated on the case's inputs), deterministically from the spec.
    after_weights: Callable[[Any, Any], None] | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def attribute_domains(self) -> dict[str, list[Any]]:
        return {a: list(v) for a, v in self.domains.items() if a not in INPUT_KNOBS}

    def keras_layer(self, attrs: Attrs, name: str | None = None) -> Any:
        """The Keras layer for ``attrs``; Keras is imported here, never at module import."""
        if self.build is not None:
            return self.build(dict(attrs))
        import keras

        from harness.layers._base import resolve_activation

        return getattr(keras.layers, self.name)(**resolve_activation(attrs), name=name)


class UnknownLayerKind(KeyError):
    def __str__(self) -> str:
        return self.args[0]


_KINDS: dict[str, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    if kind.name in _KINDS:
        raise ValueError(f"layer kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def _load_families() -> None:
    import harness.layers  # noqa: F401  (registers every family on import)


def get(name: str) -> LayerKind:
    _load_families()
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise UnknownLayerKind(f"unknown layer kind {name!r}; registered kinds: {known}") from None


def kinds() -> list[LayerKind]:
    _load_families()
    return sorted(_KINDS.values(), key=lambda k: (k.family, k.name))


def names(without: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Every kind's name, less the kinds tagged with any of ``without``."""
    return [k.name for k in kinds() if not k.tags & set(without)]


# Whole architectures: megabytes of weights each, so they stay out of the golden store, and
# minutes per Hypothesis run, so they have their own suite (suites/applications).
WHOLE_MODELS = frozenset({"application"})
