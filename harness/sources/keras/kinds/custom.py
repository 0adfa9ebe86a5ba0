"""Custom layers: Keras ``Layer`` subclasses written with ``keras.ops``, as users write them.

They are registered serialisable under the package ``parity`` (so a saved model loads with
safe_mode) and their variables are named so that ``harness.core.inputs.draw_weight`` gives them
non-trivial values. ``CustomOps`` lists its ops convertible first: the ones no converter
handles are known issues (harness/known_issues.toml), so the suite shows which custom layers
convert and, for the others, why not.
"""

from __future__ import annotations

import functools

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import BATCH, draw_spatial

# op name -> what it computes, for `parity layers` and the docs.
OPS = {
    "rms_norm": "x * rsqrt(mean(x**2, axis=-1) + 1e-3)",
    "erf": "erf(x)",
    "cumsum": "cumsum(x, axis=-1)",
    "log1p": "sign(x) * log1p(|x|)",
    "expm1": "expm1(-|x|)",
    "asinh": "arcsinh(x)",
    "sinh": "sinh(x)",
}


def _op(name: str, x):
    from keras import ops

    if name == "rms_norm":
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-3)
    if name == "erf":
        return ops.erf(x)
    if name == "cumsum":
        return ops.cumsum(x, axis=-1)
    if name == "log1p":
        return ops.sign(x) * ops.log1p(ops.abs(x))
    if name == "expm1":
        return ops.expm1(-ops.abs(x))
    if name == "asinh":
        return ops.arcsinh(x)
    if name == "sinh":
        return ops.sinh(x)
    raise ValueError(f"unknown CustomOps op {name!r}; known: {', '.join(OPS)}")


@functools.cache
def layer_classes() -> dict[str, type]:
    """The Keras classes, defined (and registered with Keras) on first use."""
    import keras

    register = keras.saving.register_keras_serializable

    @register(package="parity", name="CustomScale")
    class CustomScale(keras.layers.Layer):
        """y = x * scale, one learned scale per channel (last axis)."""

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                         initializer="ones")

        def call(self, x):
            return x * self.scale

    @register(package="parity", name="CustomAffine")
    class CustomAffine(keras.layers.Layer):
        """y = x * gamma + beta per channel (last axis)."""

        def build(self, input_shape):
            self.gamma = self.add_weight(name="gamma", shape=(input_shape[-1],),
                                         initializer="ones")
            self.beta = self.add_weight(name="beta", shape=(input_shape[-1],),
                                        initializer="zeros")

        def call(self, x):
            return x * self.gamma + self.beta

    @register(package="parity", name="CustomOps")
    class CustomOps(keras.layers.Layer):
        """y = op(x) * scale, a keras.ops function and a learned per-channel scale."""

        def __init__(self, op="rms_norm", **kwargs):
            super().__init__(**kwargs)
            if op not in OPS:
                raise ValueError(f"unknown CustomOps op {op!r}; known: {', '.join(OPS)}")
            self.op = op

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                         initializer="ones")

        def call(self, x):
            return _op(self.op, x) * self.scale

        def get_config(self):
            return {**super().get_config(), "op": self.op}

    return {"CustomScale": CustomScale, "CustomAffine": CustomAffine, "CustomOps": CustomOps}


def register_custom_objects() -> None:
    """Makes the custom layers known to Keras' loader (for saved models)."""
    layer_classes()


def custom_layer(kind: str, attrs: dict, name: str | None = None):
    return layer_classes()[kind](**attrs, name=name or _snake(kind))


def _snake(kind: str) -> str:
    from harness.sources.keras.model import layer_name

    return layer_name(kind)


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
