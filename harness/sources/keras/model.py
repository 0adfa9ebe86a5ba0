"""Builds the source model of a layer case in Keras and computes the reference outputs
(Keras' own running code, ``run_keras`` and ``xla_reading``, is ``harness.runtimes.keras``'s)."""

from __future__ import annotations

import re

import numpy as np

from harness.core import registry
from harness.core.free_dims import declared_shape
from harness.core.inputs import draw_weight, input_dtypes, weight_rng
from harness.core.spec import LayerSpec, nested_layers
from harness.runtimes.keras import keras_policy, run_keras, xla_reading

__all__ = ["EIGEN_READING", "XLA_READING", "build_model", "channels_last_twin", "layer_name",
           "run_keras", "second_reading", "set_drawn_weights", "twin_reference",
           "wants_xla_reading", "xla_reading"]


def channels_last_twin(spec: LayerSpec) -> tuple[LayerSpec, tuple[int, ...]] | None:
    """For a channels_first convolution: the same case in channels_last, and the permutation
    that takes the channels_first input to the twin's input.

    TensorFlow on the CPU has no trustworthy channels_first convolution: oneDNN's returns
    wrong values for some shapes (a 1x1 Conv2D on a (1, 1, 1, 2) input is off by 0.93) and
    the other kernels refuse NCHW. The twin computes the layer's documented semantics
    through the NHWC path; Keras' kernels have the same layout in both data formats.
    """
    if spec.attrs.get("data_format") != "channels_first":
        return None
    kind = registry.get(spec.kind)
    wrapped_conv = spec.kind == "TimeDistributed" and "Conv" in str(spec.attrs.get("layer", ""))
    if kind.family != "conv" and not wrapped_conv:
        return None
    rank = len(spec.input_shapes[0])
    lead = 2 if wrapped_conv else 1  # batch, and time for TimeDistributed
    perm = (*range(lead), *range(lead + 1, rank), lead)
    twin = LayerSpec(
        kind=spec.kind,
        attrs={**spec.attrs, "data_format": "channels_last"},
        input_shapes=tuple(tuple(s[i] for i in perm) for s in spec.input_shapes),
        dtype=spec.dtype,
        seed=spec.seed,
    )
    return twin, perm


def twin_reference(model, spec: LayerSpec, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The reference outputs computed by the channels_last twin, in the case's own layout."""
    found = channels_last_twin(spec)
    if found is None:
        return None
    twin_spec, perm = found
    twin = build_model(twin_spec)
    twin.set_weights(model.get_weights())
    outputs = run_keras(twin, [np.ascontiguousarray(x.transpose(perm)) for x in inputs])
    back = np.argsort(perm)
    return [np.ascontiguousarray(y.transpose(back)) if y.ndim == len(perm) else y for y in outputs]


XLA_READING = ("eager output differs from the same model compiled with XLA (the reference; its "
               "CPU convolutions do not use oneDNN)")


EIGEN_READING = ("eager output (TensorFlow's CPU kernels without oneDNN) differs from the same "
                 "model compiled with XLA (the reference; it clamps 'same' padding at 0)")
# 3-D layers whose 'same' padding TensorFlow's CPU kernels without oneDNN (Eigen's) offset
# wrongly where the total padding would be negative: a stride longer than the kernel.
EIGEN_SAME_3D = {"MaxPooling3D": ("pool_size", None), "AveragePooling3D": ("pool_size", None),
                 "Conv3D": ("kernel_size", "dilation_rate")}


def second_reading(spec: LayerSpec, onednn: bool | None) -> str | None:
    """Why the case is read a second time, compiled with XLA (whose reading is the reference
    where the two differ), or None where it is not: a convolution where TensorFlow runs
    oneDNN (``wants_xla_reading``); a 3-D convolution or pooling with 'same' padding and a
    stride longer than its kernel where it does not (TF_ENABLE_ONEDNN_OPTS=0, a CPU without
    AVX-512), whose Eigen kernels start the window one step late where the total padding
    (ceil(in / stride) - 1) * stride + kernel - in is negative: MaxPooling3D(1, strides=3,
    'same') of [1, 2, 3] gives 2, XLA and oneDNN 1."""
    if onednn is not False:
        return XLA_READING if wants_xla_reading(spec) else None
    for kind, attrs in nested_layers(spec.kind, spec.attrs):
        if kind in EIGEN_SAME_3D and _stride_over_kernel(attrs, *EIGEN_SAME_3D[kind]):
            return EIGEN_READING
    return None


def _stride_over_kernel(attrs: dict, kernel_key: str, dilation_key: str | None) -> bool:
    kernel = _triple(attrs.get(kernel_key))
    if attrs.get("padding") != "same" or kernel is None:
        return False
    strides = _triple(attrs.get("strides")) or kernel  # a pooling's strides default to it
    dilation = (_triple(attrs.get(dilation_key)) if dilation_key else None) or (1, 1, 1)
    return any(s > (k - 1) * d + 1 for k, s, d in zip(kernel, strides, dilation))


def _triple(value) -> tuple[int, ...] | None:
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple)) else (int(value),) * 3


def wants_xla_reading(spec: LayerSpec) -> bool:
    """Convolutions, alone or inside a drawn model, get a second reading: TensorFlow's oneDNN
    convolution leaves part of some strided outputs unwritten on the CPU (the second batch
    element repeats stale values), small enough to pass every plausibility check. Whole
    architectures are left out: compiling them costs seconds and their tolerance is wide."""
    if registry.get(spec.kind).tags & registry.WHOLE_MODELS:
        return False
    for kind, _ in nested_layers(spec.kind, spec.attrs):
        try:
            if registry.get(kind).family == "conv":
                return True
        except registry.UnknownLayerKind:
            continue
    return False


def layer_name(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", kind).lower()


def build_model(spec: LayerSpec):
    """A one-layer functional model (or the kind's own model) with weights drawn from the
    spec's seed, every layer built in ``spec.dtype``: float16 and float64 layers compute in
    that dtype; ``mixed_float16`` builds under Keras' mixed policy (float32 inputs and
    variables, float16 computation). Keras' global policy is restored afterwards."""
    import keras

    kind = registry.get(spec.kind)
    with keras_policy(spec.dtype):
        if kind.build_model is not None:
            model = kind.build_model(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                     spec.dtype)
        else:
            inputs = [
                keras.Input(shape=declared_shape(spec, i)[1:], dtype=input_dtype,
                            name=f"input_{i}")
                for i, input_dtype in enumerate(input_dtypes(spec))
            ]
            layer = kind.keras_layer(spec.attrs, name=layer_name(spec.kind))
            outputs = layer(inputs if len(inputs) > 1 else inputs[0])
            model_inputs = inputs if len(inputs) > 1 else inputs[0]
            model = keras.Model(model_inputs, outputs, name=f"parity_{layer_name(spec.kind)}")
    set_drawn_weights(model, spec)
    if kind.build_model is not None and kind.after_weights is not None:
        kind.after_weights(model, spec)
    return model


def set_drawn_weights(model, spec: LayerSpec) -> None:
    rng = weight_rng(spec)
    for variable in model.weights:
        shape = tuple(variable.shape)
        variable.assign(draw_weight(variable.path, shape, rng).astype(variable.dtype))
