"""The Keras objects parity defines, which a saved model may name: the tanh approximation of
GELU, the layer that calls an attention layer with call options (``CallWith``) and the custom
layers (``CustomScale``, ``CustomAffine``, ``CustomOps``: ``Layer`` subclasses written with
``keras.ops``, as users write them).

Each is registered serialisable under the package ``parity`` (``parity>CustomScale``), so that
a ``.keras`` file naming it loads with safe_mode whichever module the file says defined it
(the golden store's say ``harness.layers.custom``). Their variables are named so that
``harness.core.inputs.draw_weight`` gives them non-trivial values. Defined on first use, so
that importing this module imports no Keras.

Beside them, the user's custom objects (``--custom-objects MODULE:NAME``, recorded by
``harness.core.plugins``) are registered under their dict keys in the global custom objects
of the Keras that reads a file (``register_user_objects``): Keras 3's, or tf_keras' for a
Keras-2 file, each framework getting the classes built on it.
"""

from __future__ import annotations

import functools
import importlib

from harness.core.plugins import custom_objects

# The Keras frameworks a user's class may be built on (the top package of a class in its MRO).
KERAS_FRAMEWORKS = ("keras", "tf_keras")

# CustomOps' op name -> what it computes, for `parity layers` and the docs.
OPS = {
    "rms_norm": "x * rsqrt(mean(x**2, axis=-1) + 1e-3)",
    "erf": "erf(x)",
    "cumsum": "cumsum(x, axis=-1)",
    "log1p": "sign(x) * log1p(|x|)",
    "expm1": "expm1(-|x|)",
    "asinh": "arcsinh(x)",
    "sinh": "sinh(x)",
}


def register_custom_objects() -> None:
    """Makes the activations and custom layers parity defines, and the user's custom objects,
    known to Keras 3's loader."""
    gelu_tanh()
    call_with_class()
    layer_classes()
    register_user_objects("keras")


def register_user_objects(framework: str = "keras") -> dict[str, object]:
    """The user's custom objects (``--custom-objects``) in the global custom objects of
    ``framework`` (``keras`` or ``tf_keras``), under their dict keys: the names a file gives
    them ("package>Name" or a bare "Name"), as ``load_model(custom_objects=...)`` would look
    them up. A class built on the other Keras is left out (a tf_keras layer is no Keras 3
    layer); functions go to both. Returns what was registered."""
    chosen = {name: obj for name, obj in custom_objects().items()
              if _built_on(obj) in (None, framework)}
    if chosen:
        importlib.import_module(framework).saving.get_custom_objects().update(chosen)
    return chosen


def _built_on(obj) -> str | None:
    """``keras`` or ``tf_keras`` for a class that subclasses one of theirs, else None."""
    for base in getattr(obj, "__mro__", ())[1:]:
        package = base.__module__.split(".", 1)[0]
        if package in KERAS_FRAMEWORKS:
            return package
    return None


@functools.cache
def gelu_tanh():
    import keras

    # Registered, so that a saved model using it loads with safe_mode (no lambda).
    @keras.saving.register_keras_serializable(package="parity", name="gelu_tanh")
    def gelu_tanh(x):
        return keras.activations.gelu(x, approximate=True)

    return gelu_tanh


@functools.cache
def call_with_class() -> type:
    """A layer that calls an attention layer on the model's inputs with call options."""
    import keras

    @keras.saving.register_keras_serializable(package="parity")
    class CallWith(keras.layers.Layer):
        def __init__(self, inner, call_kwargs, unpack, **kwargs):
            super().__init__(**kwargs)
            if isinstance(inner, dict):  # from a saved config
                inner = keras.saving.deserialize_keras_object(inner)
            self.inner = inner
            self.call_kwargs = dict(call_kwargs)
            self.unpack = unpack

        def get_config(self):
            return {**super().get_config(), "inner": keras.saving.serialize_keras_object(self.inner),
                    "call_kwargs": self.call_kwargs, "unpack": self.unpack}

        def call(self, inputs):
            if not isinstance(inputs, (list, tuple)):
                inputs = [inputs]
            if self.unpack:
                # MultiHeadAttention(query, value, key): self-attention passes one tensor.
                query, value, key = (list(inputs) * 3)[:3] if len(inputs) == 1 else (
                    inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
                )
                result = self.inner(query, value, key, **self.call_kwargs)
            else:
                result = self.inner(list(inputs), **self.call_kwargs)
            return list(result) if isinstance(result, tuple) else result

    return CallWith


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
    """The custom layer classes by name, defined (and registered with Keras) on first use."""
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
