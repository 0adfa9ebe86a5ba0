"""The registry of kinds, for every source.

A kind bundles everything the harness knows about one layer (a Keras layer, an ONNX op, a
MATLAB layer) or one model kind: the documented values of its attributes (``domains``,
simplest first, so that Hypothesis shrinks towards the first), a ``draw`` function that
picks a consistent configuration and input shapes, and a ``build`` (or ``build_model``)
function that constructs it. Kinds are keyed by their source and name: an ONNX ``Softmax``
is not Keras' ``Softmax``. Each source's families live in one package (``harness.sources.keras.kinds``
for Keras), one file each; registering a kind is one line there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.core import source_registry

Shapes = list[tuple[int, ...]]

# Domain entries that shape a case's inputs (or the form of an attribute) rather than name a
# constructor argument: listed by ``parity layers``, left out of attribute coverage.
INPUT_KNOBS = frozenset(
    {"batch", "channels", "rank", "inputs", "symmetric", "infer_one_axis", "target_rank",
     "stack", "node_op", "extra_output"}
)
Attrs = dict[str, Any]


# A strategy built for each draw is validated, and its properties worked out, again for each
# draw: Picker draws tens of values a case, so it keeps one strategy per distinct list of
# plain values (benchmarks/bench_draws.py: the same corpus, drawn in less CPU).
_SAMPLED: dict[tuple, Any] = {}
_SAMPLED_KEPT = 8192


def _exact(value: Any) -> tuple | None:
    """A key equal only for values of one type that print alike (0.0 and -0.0, 1 and True
    and 1.0 stay apart); None for a value that may change or cannot be keyed."""
    kind = type(value)
    if kind in (bool, int, str, type(None)):
        return kind, value
    if kind is float:
        return kind, repr(value)
    if kind is tuple:
        inner = tuple(map(_exact, value))
        return None if None in inner else (kind, inner)
    return None


def sampled_from(values: list[Any]) -> Any:
    """``st.sampled_from(values)``, the same strategy object for equal lists of plain values."""
    from hypothesis import strategies as st

    key = tuple(map(_exact, values))
    if None in key:
        return st.sampled_from(values)
    strategy = _SAMPLED.get(key)
    if strategy is None:
        strategy = st.sampled_from(values)
        if len(_SAMPLED) < _SAMPLED_KEPT:
            _SAMPLED[key] = strategy
    return strategy


class Picker:
    """Draws attribute values from a kind's documented domains, inside a composite strategy."""

    def __init__(self, draw: Callable[[Any], Any], domains: Mapping[str, Sequence[Any]],
                 dtype: str | None = None):
        self._draw = draw
        self._domains = domains
        self._dtype = dtype  # the dtype axis a case is drawn along (harness.core.axes), if any

    def domain(self, attr: str) -> list[Any]:
        """The documented values of ``attr``, simplest first (to narrow them in context)."""
        try:
            return list(self._domains[attr])
        except KeyError:
            raise KeyError(f"no domain for attribute {attr!r}; known: "
                           f"{', '.join(sorted(self._domains))}") from None

    def __call__(self, attr: str, among: Sequence[Any] | None = None) -> Any:
        """One value of ``attr``; ``among`` narrows the domain to values valid in context."""
        values = list(self._domains[attr]) if among is None else list(among)
        if not values:
            raise ValueError(f"no valid value left for attribute {attr!r}")
        return self._draw(sampled_from(values))

    def draw(self, strategy: Any) -> Any:
        return self._draw(strategy)

    def dtype(self, among: Sequence[str]) -> str:
        """The case's dtype, one of ``among``: drawn, or, for a case drawn along a dtype axis,
        that dtype; where ``among`` lacks it (this opset or form does not take it) the draw
        is rejected, so that Hypothesis draws another opset or form."""
        from hypothesis import strategies as st

        if self._dtype is None:
            return self._draw(sampled_from(list(among)))
        if self._dtype not in among:
            self._draw(st.nothing())
        return self._dtype


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
    source: str = "keras"
    # The kind's own domain entries that shape a case rather than name an attribute (an
    # ONNX kind's "form" or "spatial"), besides the shared INPUT_KNOBS.
    knobs: frozenset[str] = field(default_factory=frozenset)
    # The dtypes besides float32 the kind's cases are drawn in, where its family declares
    # them (an ONNX op's type constraints narrow them); None: every dtype its source builds
    # (harness.core.dtypes.admitted).
    dtypes: tuple[str, ...] | None = None
    # The free dimensions the kind admits, where its family declares them; None: those its
    # source gives it (harness.core.free_dims.admitted).
    free_dims: tuple[str, ...] | None = None

    @property
    def attribute_domains(self) -> dict[str, list[Any]]:
        return {a: list(v) for a, v in self.domains.items()
                if a not in INPUT_KNOBS and a not in self.knobs}

    def keras_layer(self, attrs: Attrs, name: str | None = None) -> Any:
        """The layer for ``attrs``: the kind's own ``build``, else its source's layer builder
        (``register_layer_builder``: Keras builds ``keras.layers.<name>``)."""
        if self.build is not None:
            return self.build(dict(attrs))
        load(self.source)
        try:
            builder = _LAYER_BUILDERS[self.source]
        except KeyError:
            raise TypeError(f"{self.source} kind {self.name!r} has no build and its source "
                            "no layer builder") from None
        return builder(self, dict(attrs), name)


class UnknownLayerKind(KeyError):
    def __str__(self) -> str:
        return self.args[0]


_KINDS: dict[tuple[str, str], LayerKind] = {}
# source -> the module that registered its kinds (loaded once a process, kept after a
# plugin source is unregistered: its kinds stay registered too)
_LOADED: dict[str, str] = {}
# source -> builds the layer of a kind without a ``build`` of its own: (kind, attrs, name)
_LAYER_BUILDERS: dict[str, Callable[[LayerKind, Attrs, str | None], Any]] = {}
KERAS = "keras"


def register(kind: LayerKind) -> LayerKind:
    key = (kind.source, kind.name)
    if key in _KINDS:
        raise ValueError(f"{kind.source} kind {kind.name!r} is registered twice")
    _KINDS[key] = kind
    return kind


def register_layer_builder(source: str,
                           builder: Callable[[LayerKind, Attrs, str | None], Any]) -> None:
    """Sets how ``source`` builds the layer of a kind that has no ``build`` of its own
    (``LayerKind.keras_layer``); the source registers it when its kinds load."""
    _LAYER_BUILDERS[source] = builder


def load(source: str) -> None:
    """Imports the module that registers ``source``'s kinds, and with them what the source
    registers into the core (its layer builder, its axes' admission), once."""
    if source in _LOADED:
        return
    kinds_module = source_registry.get(source).kinds_module
    importlib.import_module(kinds_module)
    _LOADED[source] = kinds_module



def get(name: str, source: str = KERAS) -> LayerKind:
    load(source)
    try:
        return _KINDS[(source, name)]
    except KeyError:
        known = ", ".join(sorted(n for s, n in _KINDS if s == source))
        raise UnknownLayerKind(
            f"unknown {source} kind {name!r}; registered {source} kinds: {known}") from None


def kinds(source: str = KERAS) -> list[LayerKind]:
    load(source)
    return sorted((k for (s, _), k in _KINDS.items() if s == source),
                  key=lambda k: (k.family, k.name))


def registered() -> list[LayerKind]:
    """Every kind registered so far, of every source, loading none."""
    return list(_KINDS.values())


def loaded_kinds_modules() -> list[str]:
    """The modules that registered the loaded sources' kinds (``load``), whether or not
    their source is still registered."""
    return sorted(set(_LOADED.values()))


def names(without: frozenset[str] | set[str] = frozenset(), source: str = KERAS) -> list[str]:
    """Every kind's name, less the kinds tagged with any of ``without``."""
    return [k.name for k in kinds(source) if not k.tags & set(without)]


def family_of(name: str, source: str = KERAS) -> str | None:
    """The family of a kind, or None for a kind no longer registered."""
    try:
        return get(name, source).family
    except UnknownLayerKind:
        return None


# Whole architectures: megabytes of weights each, so they stay out of the golden store, and
# minutes per Hypothesis run, so they have their own suite (suites/applications).
WHOLE_MODELS = frozenset({"application"})
