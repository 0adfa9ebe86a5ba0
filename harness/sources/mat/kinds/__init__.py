"""The MATLAB layer kinds, one file a family. Importing this package registers every kind:
in the table here (``get``, ``layers``) and, as the kind of a drawn ``mat`` case, in
``harness.core.registry`` (source ``mat``). A new kind is one ``register(MatLayer(...))`` in its
family's file; a new family is one file and one name in the import at the bottom.
"""

from __future__ import annotations

from harness.sources.mat.layer import MatLayer

FAMILY_PREFIX = "mat-"  # keeps MATLAB families apart from Keras' in a merged report

_LAYERS: dict[str, MatLayer] = {}


class UnknownMatLayer(KeyError):
    def __str__(self) -> str:
        return self.args[0]


def register(layer: MatLayer) -> MatLayer:
    """Adds a MATLAB layer kind, and the drawn case of that kind to ``harness.core.registry``."""
    from harness.core import registry
    from harness.sources.mat.draw import NETWORK_DOMAINS, network_draw

    if layer.name in _LAYERS:
        raise ValueError(f"MATLAB layer kind {layer.name!r} is registered twice")
    if not layer.formats:
        raise ValueError(f"MATLAB layer kind {layer.name!r} has no writer for any format")
    _LAYERS[layer.name] = layer
    registry.register(registry.LayerKind(
        name=layer.name, family=FAMILY_PREFIX + layer.family,
        domains={**NETWORK_DOMAINS, **layer.domains}, draw=network_draw(layer),
        doc=layer.doc, tags=layer.tags, source="mat"))
    return layer


def get(name: str) -> MatLayer:
    try:
        return _LAYERS[name]
    except KeyError:
        raise UnknownMatLayer(f"unknown MATLAB layer kind {name!r}; known: "
                              f"{', '.join(sorted(_LAYERS))}") from None


def layers() -> list[MatLayer]:
    """Every kind, in registration order (the order context layers are drawn from)."""
    return list(_LAYERS.values())


from harness.sources.mat.kinds import (  # noqa: E402,F401  (registers on import)
    activation,
    convolution,
    core,
    inputs,
    merge,
    normalization,
    pooling,
    recurrent,
)
