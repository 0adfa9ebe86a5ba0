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
    {"batch", "channels", "rank", "inputs", "symmetric", "infer_one_axis", "target_rank"}
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


def names() -> list[str]:
    return [k.name for k in kinds()]
