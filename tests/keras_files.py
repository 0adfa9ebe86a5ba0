"""The small seeded models the tests of a user's Keras file save: a Keras 3 functional network
and a tf_keras (Keras 2) Sequential one, each with batch-norm statistics drawn away from a
fresh layer's zeros and ones (a fresh layer would hide a wrong normalisation)."""

from __future__ import annotations


def bn_statistics(model, module) -> None:
    """Every BatchNormalization of ``model`` (built with ``module``, keras or tf_keras) given a
    seeded moving mean and variance."""
    import numpy as np

    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, module.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))


def keras3_small(shape: tuple[int, ...], *, head: str = "dense", activation: str | None = None,
                 bias_initializer: str = "zeros", dtype: str | None = None):
    """Conv, batch norm, conv, global pooling and a 10-unit head named ``head``, in Keras 3;
    seeded. ``dtype`` sets every layer's (None: the global policy's)."""
    import keras

    keras.utils.set_random_seed(0)
    layers = keras.layers
    weighted = {"bias_initializer": bias_initializer, "dtype": dtype}
    image = keras.Input(shape, name="image", dtype=dtype)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_a", **weighted)(image)
    x = layers.BatchNormalization(name="bn", dtype=dtype)(x)
    x = layers.Conv2D(6, 3, padding="same", name="conv_b", **weighted)(x)
    x = layers.GlobalAveragePooling2D(name="pool", dtype=dtype)(x)
    outputs = layers.Dense(10, activation=activation, name=head, **weighted)(x)
    model = keras.Model(image, outputs, name="small")
    bn_statistics(model, keras)
    return model


def keras2_sequential(shape: tuple[int, ...], *, units: int = 10, conv: str = "conv_a",
                      head: str = "dense", pool: bool = True, softmax: bool = True):
    """Conv (named ``conv``), batch norm, max pooling where ``pool``, flatten, a ``units``-unit
    head named ``head`` and a softmax where ``softmax``, in tf_keras; seeded."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    model = tf_keras.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=shape, name=conv),
        layers.BatchNormalization(name="bn"),
        *([layers.MaxPooling2D(name="pool")] if pool else []),
        layers.Flatten(name="flatten"),
        layers.Dense(units, name=head),
        *([layers.Softmax(name="softmax")] if softmax else []),
    ])
    bn_statistics(model, tf_keras)
    return model
