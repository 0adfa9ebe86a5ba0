"""The MATLAB layer kinds by name: filled by ``registration.register`` as each family file
under ``kinds/`` loads."""

from __future__ import annotations

from harness.sources.mat.layer import MatLayer

FAMILY_PREFIX = "mat-"  # keeps MATLAB families apart from Keras' in a merged report

_LAYERS: dict[str, MatLayer] = {}


class UnknownMatLayer(KeyError):
    def __str__(self) -> str:
        return self.args[0]


def add(layer: MatLayer) -> None:
    if layer.name in _LAYERS:
        raise ValueError(f"MATLAB layer kind {layer.name!r} is registered twice")
    _LAYERS[layer.name] = layer


def get(name: str) -> MatLayer:
    try:
        return _LAYERS[name]
    except KeyError:
        raise UnknownMatLayer(f"unknown MATLAB layer kind {name!r}; known: "
                              f"{', '.join(sorted(_LAYERS))}") from None


def layers() -> list[MatLayer]:
    """Every kind, in registration order (the order context layers are drawn from)."""
    return list(_LAYERS.values())
