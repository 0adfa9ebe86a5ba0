"""``register``: what a MATLAB family file calls for each of its kinds."""

from __future__ import annotations

from harness.core import registry
from harness.sources.mat import table
from harness.sources.mat.draw import NETWORK_DOMAINS, network_draw
from harness.sources.mat.layer import MatLayer


def register(layer: MatLayer) -> MatLayer:
    """Adds a MATLAB layer kind, and the drawn case of that kind to ``harness.core.registry``."""
    if not layer.formats:
        raise ValueError(f"MATLAB layer kind {layer.name!r} has no writer for any format")
    table.add(layer)
    registry.register(registry.LayerKind(
        name=layer.name, family=table.FAMILY_PREFIX + layer.family,
        domains={**NETWORK_DOMAINS, **layer.domains}, draw=network_draw(layer),
        doc=layer.doc, tags=layer.tags, source="mat"))
    return layer
