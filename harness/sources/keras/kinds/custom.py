"""Custom layers: Keras ``Layer`` subclasses written with ``keras.ops``, as users write them.

The classes live in ``harness.runtimes.keras_custom`` (a saved model that names them must load
wherever it is read); here they are kinds. ``CustomOps`` lists its ops convertible first:
the ones no converter handles are known issues (harness/known_issues.toml), so the suite
shows which custom layers convert and, for the others, why not.
"""

from __future__ import annotations

import functools

from harness.core.registry import LayerKind, Picker, register
from harness.runtimes.keras_custom import OPS, layer_classes
from harness.sources.keras.kinds._base import BATCH, draw_spatial
from harness.sources.keras.model import layer_name


def custom_layer(kind: str, attrs: dict, name: str | None = None):
    return layer_classes()[kind](**attrs, name=name or layer_name(kind))


CUSTOM_DOMAINS = {"rank": [2, 3, 4], "batch": BATCH}
OPS_DOMAINS = {"op": list(OPS), **CUSTOM_DOMAINS}


def _shape(pick: Picker) -> tuple[int, ...]:
    rank = pick("rank")
    return (pick("batch"), *draw_spatial(pick, [1] * (rank - 1)))


def _draw_plain(pick: Picker):
    return {}, [_shape(pick)]


def _draw_ops(pick: Picker):
    return {"op": pick("op")}, [_shape(pick)]


for _name, _domains, _draw, _doc in (
    ("CustomScale", CUSTOM_DOMAINS, _draw_plain, "x * scale (learned, per channel)"),
    ("CustomAffine", CUSTOM_DOMAINS, _draw_plain, "x * gamma + beta (learned, per channel)"),
    ("CustomOps", OPS_DOMAINS, _draw_ops,
     "op(x) * scale; op: " + "; ".join(f"{k} = {v}" for k, v in OPS.items())),
):
    register(
        LayerKind(
            name=_name,
            family="custom",
            domains=_domains,
            draw=_draw,
            build=functools.partial(custom_layer, _name),
            doc=_doc,
        )
    )
