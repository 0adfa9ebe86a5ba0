"""Applications: whole ``keras.applications`` architectures with seeded random weights.

Each kind is one architecture (ResNet50, MobileNetV2, ...) built with ``weights=None`` on a
small input (the architecture's documented minimum first), its first input named
``input_0`` and its graph flat (nested ``Sequential`` blocks, as in ConvNeXt, are expanded
into the functional graph so that ``model.layers`` lists every leaf layer).

Random weights through 50-800 layers explode or vanish, so after the seeded weights are set
(``keras_source.set_drawn_weights``) ``calibrate`` re-derives every BatchNormalization's
moving statistics, in graph order, from the activations that reach it on a calibration
batch (the case's own inputs plus a few seeded samples), perturbed per channel by seeded
factors: the statistics stay non-trivial (per-channel means and variances far from 0 and 1,
slightly off the data's own), while every normalised activation stays O(1). Architectures
without batch norm (VGG16) get the same treatment on the kernels of their convolutions and
dense layers. Everything derives from the spec's seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.core.inputs import INPUT_BOUND, make_inputs
from harness.core.registry import LayerKind, Picker, register
from harness.core.spec import LayerSpec

FAMILY = "applications"
TAGS = frozenset({"slow", "application"})

# Samples added to the case's own inputs for calibration: statistics over a batch of one
# image and a 1x1 feature map would be degenerate.
CALIBRATION_SAMPLES = 3
# Per-channel perturbation of the calibrated statistics: the mean moves by up to this many
# standard deviations, the variance is scaled by a factor in VARIANCE_FACTOR.
MEAN_SHIFT = 0.25
VARIANCE_FACTOR = (0.5, 2.0)
# Spread, from image to image, of a conv/dense output with no batch norm (VGG16).
KERNEL_TARGET = (0.7, 1.4)
# The variance a batch norm is calibrated to counts this share of the squared mean too, so
# that a channel nearly constant on the batch is not blown up (with its rounding error).
MEAN_SQUARE_SHARE = 0.1

COMMON_DOMAINS: dict[str, list[Any]] = {
    "include_top": [False, True],
    "pooling": [None, "avg", "max"],
    "classes": [10, 3],
    "classifier_activation": ["softmax", None],
    "batch": [1, 2],
}


@dataclass(frozen=True)
class Application:
    name: str  # the keras.applications constructor
    sizes: tuple[int, ...]  # square input sizes, the architecture's minimum first
    extra: dict[str, list[Any]] = field(default_factory=dict)  # its own knobs, simplest first
    doc: str = ""


APPLICATIONS: tuple[Application, ...] = (
    Application("VGG16", (32, 48), doc="13 convolutions, no batch norm"),
    Application("ResNet50", (32, 48)),
    Application("ResNet50V2", (32, 48)),
    Application("MobileNet", (32, 48), {"alpha": [0.25, 1.0]}),
    Application("MobileNetV2", (32, 48), {"alpha": [0.35, 1.0]}),
    Application("MobileNetV3Small", (32, 48), {"alpha": [0.75, 1.0], "minimalistic": [True, False]}),
    Application("MobileNetV3Large", (32, 48), {"alpha": [0.75, 1.0], "minimalistic": [True, False]}),
    Application("EfficientNetB0", (32, 48)),
    Application("EfficientNetV2B0", (32, 48)),
    Application("DenseNet121", (32, 48)),
    Application("ConvNeXtTiny", (32, 64)),
    Application("NASNetMobile", (32, 64)),
    Application("Xception", (71, 80)),
    Application("InceptionV3", (75, 80)),
)
BY_NAME = {app.name: app for app in APPLICATIONS}


# -- drawing -------------------------------------------------------------------------------


def _drawer(app: Application):
    def draw(pick: Picker):
        from hypothesis import strategies as st

        size = pick.draw(st.sampled_from(app.sizes))
        attrs: dict[str, Any] = {key: pick(key) for key in app.extra}
        attrs["include_top"] = pick("include_top")
        if attrs["include_top"]:
            attrs["classes"] = pick("classes")
            attrs["classifier_activation"] = pick("classifier_activation")
        else:
            attrs["pooling"] = pick("pooling")
        return attrs, [(pick("batch"), size, size, 3)]

    return draw


def default_spec(name: str, seed: int = 0, **attrs: Any) -> LayerSpec:
    """The simplest case of an application (what Hypothesis shrinks to), with overrides."""
    app = BY_NAME[name]
    chosen = {key: values[0] for key, values in app.extra.items()}
    chosen.update(include_top=False, pooling=None)
    chosen.update(attrs)
    if chosen["include_top"]:
        chosen.pop("pooling", None)
        chosen.setdefault("classes", COMMON_DOMAINS["classes"][0])
        chosen.setdefault("classifier_activation", COMMON_DOMAINS["classifier_activation"][0])
    size = chosen.pop("size", app.sizes[0])
    batch = chosen.pop("batch", COMMON_DOMAINS["batch"][0])
    return LayerSpec(kind=name, attrs=chosen, input_shapes=((batch, size, size, 3),), seed=seed)


# -- building ------------------------------------------------------------------------------


def _builder(app: Application):
    def build_model(attrs: dict[str, Any], input_shapes: Sequence[tuple[int, ...]], dtype: str):
        import keras

        if len(input_shapes) != 1 or len(input_shapes[0]) != 4 or input_shapes[0][-1] != 3:
            raise ValueError(f"{app.name} takes one (batch, height, width, 3) input, "
                             f"got {list(input_shapes)}")
        inputs = keras.Input(shape=input_shapes[0][1:], dtype=dtype, name="input_0")
        model = getattr(keras.applications, app.name)(
            weights=None, input_tensor=inputs, **attrs)
        # keras.applications makes a model over a list of one input; the harness calls it
        # with a single array, as it does its one-layer models.
        return flatten(keras.Model(inputs, model.outputs[0], name=model.name))

    return build_model


def _clone(layer):
    return layer.__class__.from_config(layer.get_config())


def flatten(model):
    """The same functional graph with every nested Sequential/Model expanded into its leaf
    layers (fresh layers from their configs: weights are set afterwards)."""
    import keras

    if not any(isinstance(layer, keras.Model) for layer in model.layers):
        return model

    def operation_fn(layer):
        if isinstance(layer, keras.Sequential):
            inner = [_clone(sub) for sub in layer.layers]

            def run(x, **_):
                for sub in inner:
                    x = sub(x)
                return x

            return run
        if isinstance(layer, keras.Model):
            raise NotImplementedError(f"cannot flatten nested functional model {layer.name}")
        return _clone(layer)

    (source,) = model.inputs
    inputs = keras.Input(batch_shape=source.shape, dtype=source.dtype, name=source.name)
    outputs = model._run_through_graph([inputs], operation_fn=operation_fn)
    if isinstance(outputs, (list, tuple)):
        (outputs,) = outputs
    return keras.Model(inputs, outputs, name=model.name)


# -- calibration ---------------------------------------------------------------------------


def _rng(spec: LayerSpec, stream: str) -> np.random.Generator:
    return np.random.default_rng([spec.seed, zlib.crc32(stream.encode())])


def calibration_batch(spec: LayerSpec) -> np.ndarray:
    """The case's own inputs followed by CALIBRATION_SAMPLES seeded samples of the same law."""
    (case,) = make_inputs(spec)
    rng = _rng(spec, "calibration-inputs")
    extra = np.clip(rng.standard_normal((CALIBRATION_SAMPLES, *case.shape[1:])),
                    -INPUT_BOUND, INPUT_BOUND).astype(case.dtype)
    return np.concatenate([case, extra])


def _moments(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    axis = axis % values.ndim
    reduce = tuple(a for a in range(values.ndim) if a != axis)
    values = values.astype(np.float64)
    mean = values.mean(axis=reduce)
    var = values.var(axis=reduce)
    # A channel that is constant on the batch (a dead ReLU, a 1x1 map) keeps a variance of
    # the order of its neighbours', not zero, which would divide by the epsilon.
    floor = 1e-3 * float(var.mean()) + 1e-6
    return mean, np.maximum(var + MEAN_SQUARE_SHARE * mean**2, floor)


def _calibrate_batch_norm(layer, x: np.ndarray, rng: np.random.Generator) -> None:
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    mean, var = _moments(x, axis)
    shift = rng.uniform(-MEAN_SHIFT, MEAN_SHIFT, mean.shape) * np.sqrt(var)
    factor = rng.uniform(*VARIANCE_FACTOR, var.shape)
    layer.moving_mean.assign((mean + shift).astype(layer.moving_mean.dtype))
    layer.moving_variance.assign((var * factor).astype(layer.moving_variance.dtype))


def _normalised_downstream(model) -> set[str]:
    """Names of the layers whose output goes straight into a BatchNormalization."""
    import keras

    fed: set[str] = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for node in layer._inbound_nodes:
                for tensor in node.input_tensors:
                    fed.add(tensor._keras_history.operation.name)
    return fed


def _rescale_kernel(layer, x_in, rng: np.random.Generator) -> None:
    """Scales a conv/dense kernel so that the part of its output that varies from image to
    image has a seeded O(1) spread; the bias stays as drawn. Scaling by the overall spread
    instead lets the drawn biases dominate, and the output barely depends on the input."""
    y = np.asarray(layer(x_in)).astype(np.float64)
    if getattr(layer, "bias", None) is not None:
        y = y - np.asarray(layer.bias)
    between = float(y.std(axis=0).mean())
    if between == 0.0:
        return
    layer.kernel.assign(layer.kernel * (rng.uniform(*KERNEL_TARGET) / between))


def calibrate(model, spec: LayerSpec) -> None:
    """Re-derives the BatchNormalization statistics (and, where no batch norm follows, the
    conv/dense kernel scales) from the activations of the calibration batch, in graph order,
    so that every activation stays O(1). Deterministic in the spec."""
    import keras

    rng = _rng(spec, "calibration")
    normalised = _normalised_downstream(model)
    has_batch_norm = any(isinstance(layer, keras.layers.BatchNormalization)
                         for layer in model.layers)
    scalable = (keras.layers.Conv2D, keras.layers.Dense)

    def operation_fn(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            def run(x, **kwargs):
                _calibrate_batch_norm(layer, np.asarray(x), rng)
                return layer(x, **kwargs)

            return run
        if (not has_batch_norm and isinstance(layer, scalable)
                and layer.name not in normalised):
            def run_scaled(x, **kwargs):
                _rescale_kernel(layer, x, rng)
                return layer(x, **kwargs)

            return run_scaled
        return layer

    model._run_through_graph([calibration_batch(spec)], operation_fn=operation_fn)


# -- registration --------------------------------------------------------------------------


def _register(app: Application) -> LayerKind:
    sizes = ", ".join(map(str, app.sizes))
    doc = (f"keras.applications.{app.name}(weights=None) on a (batch, s, s, 3) input, s in "
           f"({sizes}); batch-norm statistics calibrated on the seeded inputs"
           + (f"; {app.doc}" if app.doc else ""))
    return register(LayerKind(
        name=app.name,
        family=FAMILY,
        domains={**app.extra, **COMMON_DOMAINS},
        draw=_drawer(app),
        build_model=_builder(app),
        after_weights=calibrate,
        doc=doc,
        tags=TAGS,
    ))


KINDS = [_register(app) for app in APPLICATIONS]
