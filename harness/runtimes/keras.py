"""Keras' own running code, shared by every source that reads a Keras model and the stages
that make one: a model called eagerly (``run_keras``, with XLA where TensorFlow's CPU has no
eager kernel), and a user's Keras 3 or tf_keras model recomputed in float64 through a twin
built from its own configuration (``keras_model_reading``, ``tf_keras_model_reading``: the
file source's yardstick; docs/tolerances.md). The drawn Keras source's own reading, which
builds its model from a spec, is ``harness.sources.keras.yardstick``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from harness.core.machine import cpu_flags, cpu_model
from harness.core.yardstick import (
    AGREEMENT,
    checked,
    distance,
    note_missing,
    unavailable,
    wide_inputs,
    wide_weights,
)


@contextmanager
def keras_policy(dtype: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``dtype`` (a dtype or a policy name) while layers
    are built, so that every layer, nested ones (wrappers, attention's projections, a
    model's nodes) included, computes in it; the previous policy is restored after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def run_keras(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs, called eagerly; compiled with XLA where TensorFlow's CPU has no
    eager kernel for the model's dtype or layout (3D pooling in float16 or float64, a
    channels_first convolution outside float32: docs/dtypes.md), which XLA's CPU backend
    compiles. An eager failure that XLA cannot compile either is raised with XLA's words
    beside its own (``NoKernelAnywhere``)."""
    # Calling the model, not predict(): predict costs ~80 ms a call in set-up alone.
    return call_tf(lambda *xs: model(keras_inputs(model, xs), training=False), inputs)


def keras_inputs(model, inputs) -> Any:
    """The case's inputs (in ``model.inputs`` order) as the model takes them: a dict of its
    named inputs where it was built with one (``keras.Model({"b": b, "a": a}, ...)``, which
    Keras 3 refuses a list for), a list where it takes several, else the one tensor."""
    import keras

    structure = named_inputs(model)
    if structure is not None:  # flattened, as model.inputs is, in sorted key order
        return keras.tree.pack_sequence_as(structure, list(inputs))
    return list(inputs) if len(inputs) > 1 else inputs[0]


def named_inputs(model) -> dict | None:
    """The dict a model was built with as its inputs (Keras 3's or tf_keras'), else None."""
    return _named(model, "input")


def named_outputs(model) -> list[str] | None:
    """The keys of the dict a model was built with as its outputs, sorted as ``as_arrays``
    reads them (the names its TFLite signature gives them), else None."""
    structure = _named(model, "output")
    return None if structure is None else sorted(structure)


def _named(model, which: str) -> dict | None:
    try:
        structure = getattr(model, which)
    except Exception:  # noqa: BLE001 (a model never called, a layer of several calls)
        return None
    return structure if isinstance(structure, dict) else None


def call_tf(function, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """``function(*inputs)`` called eagerly, as NumPy outputs; compiled with XLA where
    TensorFlow's CPU has no eager kernel for it (``run_keras``). Also how a SavedModel's
    ``serve`` runs: without oneDNN, TensorFlow's CPU refuses the NCHW convolutions a
    channels_first model's graph holds, which XLA's CPU backend compiles."""
    try:
        outputs = function(*inputs)
    except Exception as exc:
        if not no_eager_kernel(exc):
            raise
        compiled = _xla_attempt(function, inputs)
        if isinstance(compiled, Exception):
            raise NoKernelAnywhere(exc, compiled) from exc
        return compiled
    return as_arrays(outputs)


class NoKernelAnywhere(Exception):
    """TensorFlow's CPU refused an op eagerly for want of a kernel, and XLA could not compile
    the call either: both refusals, the eager one first (its words say what this machine
    lacks), then XLA's, which can name the layer's own fault (an ill-formed transposed
    convolution, whose dilation Eigen refuses before it looks at the shapes)."""

    def __init__(self, eager: Exception, xla: Exception):
        super().__init__(f"{eager}\nXLA's compilation of it, tried instead, failed too: "
                         f"{first_line(xla)}")
        self.eager, self.xla = eager, xla


def as_arrays(outputs) -> list[np.ndarray]:
    """A model's or a signature's outputs as arrays: a dict's (a SavedModel signature's, a
    Keras model's named outputs) in sorted key order, as tf2onnx orders them."""
    if isinstance(outputs, dict):
        outputs = [outputs[k] for k in sorted(outputs)]
    elif not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]


def no_eager_kernel(exc: Exception) -> bool:
    """Whether ``exc`` is TensorFlow refusing an op for want of a CPU kernel in that dtype
    or layout (not a wrong configuration, which Keras refuses before any kernel runs)."""
    import tensorflow as tf

    return isinstance(exc, (tf.errors.UnimplementedError, tf.errors.NotFoundError,
                            tf.errors.InvalidArgumentError, NoKernelAnywhere))


def xla_reading(model, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The model's outputs compiled with XLA, whose CPU convolutions do not go through
    oneDNN; None when XLA cannot compile the model."""
    return _xla_call(lambda *xs: model(keras_inputs(model, xs), training=False), inputs)


def _xla_call(function, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    outputs = _xla_attempt(function, inputs)
    return None if isinstance(outputs, Exception) else outputs  # XLA cannot: no reading


def _xla_attempt(function, inputs: list[np.ndarray]) -> list[np.ndarray] | Exception:
    """``function``'s outputs compiled with XLA, or what XLA raised."""
    import tensorflow as tf

    compiled = tf.function(function, jit_compile=True, autograph=False)
    try:
        return as_arrays(compiled(*[tf.constant(x) for x in inputs]))
    except Exception as exc:  # noqa: BLE001 (an op XLA does not compile)
        return exc


# How TensorFlow's CPU kernels refuse a data layout they lack (without oneDNN: the NCHW and
# NCDHW convolutions, their transposes and gradients): "Conv3DBackpropInputOpV2 only supports
# NDHWC on the CPU", "The Conv2D op currently only supports the NHWC tensor format on the CPU".
CPU_LAYOUT_REFUSAL = re.compile(r"[^\n]*only supports (?:the )?N\w*C\b[^\n]*")


def cpu_refusal(exc: BaseException) -> str | None:
    """TensorFlow's own words where ``exc`` is its CPU refusing a layout it has no kernel
    for on this machine (a configuration a CPU with oneDNN runs); None otherwise."""
    words = _kernel_words(exc, CPU_LAYOUT_REFUSAL)
    return None if words is None else words[:300]


def _kernel_words(exc: BaseException, pattern: re.Pattern) -> str | None:
    """What ``pattern`` finds in ``exc``'s message (colours stripped) where ``exc`` is
    TensorFlow refusing an op for want of a kernel; None otherwise."""
    try:
        if not no_eager_kernel(exc):  # type: ignore[arg-type]
            return None
    except ImportError:
        return None
    found = pattern.search(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)))
    return found.group(0).strip() if found else None


# TensorFlow's words where its installed release has no kernel for an op in the case's dtype
# (the op's registered types leave it out, or no device has a kernel for it): "Value for attr
# 'T' of double is not in the list of allowed values: half, bfloat16, float" (MaxPool3D),
# "No registered 'X' OpKernel for 'CPU' devices compatible with node", "Could not find device
# for node".
NO_KERNEL = re.compile(r"Value for attr '\w+' of \w+ is not in the list of allowed values[^\n;]*"
                       r"|No registered '[^']+' OpKernel for '[^']+' devices[^\n]*"
                       r"|Could not find device for node[^\n]*")


def missing_kernel(exc: BaseException) -> dict[str, str] | None:
    """TensorFlow's own limit on its installed release, where ``exc`` is it having no kernel
    for an op in these types: {runtime, version, keras, message}; None for any other error
    (as ``harness.runtimes.onnxruntime.missing_kernel`` for onnxruntime)."""
    words = _kernel_words(exc, NO_KERNEL)
    if words is None:
        return None
    import keras
    import tensorflow as tf

    return {"runtime": "tensorflow", "version": tf.__version__, "keras": keras.__version__,
            "message": words[:600]}


def tensorflow_cpu() -> dict[str, Any]:
    """What decides which CPU kernels TensorFlow runs here: the CPU's model and whether it
    has AVX-512 (TensorFlow turns oneDNN on by default only there), ``TF_ENABLE_ONEDNN_OPTS``
    and whether oneDNN is on in this process."""
    return {"cpu": cpu_model(), "avx512f": "avx512f" in cpu_flags(),
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
            "onednn": onednn_enabled()}


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its CPU kernels through oneDNN in this process; None where
    this TensorFlow does not say."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    try:
        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:
        return None


def cpu_state_text(state: dict[str, Any]) -> str:
    onednn = {True: "on", False: "off", None: "unknown"}[state.get("onednn")]
    flag = state.get("TF_ENABLE_ONEDNN_OPTS")
    return (f"CPU {state.get('cpu')}, {'with' if state.get('avx512f') else 'no'} AVX-512, "
            f"oneDNN {onednn} (TF_ENABLE_ONEDNN_OPTS={'unset' if flag is None else flag})")


def first_line(exc: Exception) -> str:
    """The gist of a Keras/TensorFlow error: its first non-empty line, without terminal
    colour codes (Keras wraps the op's own message in a few lines of context)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception encountered")]
    return (useful or lines or [""])[0][:300]


# -- a user's whole model (parity check): its float64 twin -----------------------------------

# The dtype policies a float64 twin replaces (a layer's ``dtype``, an input's), in Keras 3's
# and tf_keras' configurations; integer and boolean ones stay.
FLOAT_POLICIES = frozenset({"float16", "bfloat16", "float32", "float64", "half", "float",
                            "double", "mixed_float16", "mixed_bfloat16"})
POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy")
NOT_CLONED = ("Lambda", "__lambda__")


def keras_model_reading(spec, model, inputs: list[np.ndarray],
                        reference: list[np.ndarray] | None = None) -> list[np.ndarray] | None:
    """A user's Keras 3 model (``parity check``) recomputed in float64: a twin deserialised
    (safe_mode) from the model's own configuration with every float dtype policy float64,
    each layer's state cast into it as loading a file puts it there. None where that cannot
    be done (``missing_reason`` says why): the model computes in float64 already, its
    configuration cannot be rebuilt (a subclassed model), a layer has no float64 kernel on
    this device, or the twin is further from ``reference`` (the model's float32 outputs)
    than rounding takes it (``harness.core.yardstick.AGREEMENT``)."""
    return _model_reading(spec, model, inputs, reference, _keras3_twin, "Keras 3")


def tf_keras_model_reading(spec, model, inputs: list[np.ndarray],
                           reference: list[np.ndarray] | None = None
                           ) -> list[np.ndarray] | None:
    """As ``keras_model_reading``, for a Keras-2 file read by tf_keras: its reference is
    tf_keras', so its float64 reading is too (a Keras 3 reading would carry any difference
    between how the two read the file into the yardstick)."""
    return _model_reading(spec, model, inputs, reference, _tf_keras_twin, "tf_keras")


def _model_reading(spec, model, inputs, reference, make_twin, framework: str):
    if _computes_in_float64(model):
        note_missing(spec, "the model computes in float64 (its reference is its own yardstick)")
        return None
    try:
        twin = _twin_of(model, make_twin)
        outputs = checked(twin(wide_inputs(inputs)), "the model")
    except Exception as exc:  # e.g. an op with no float64 kernel on the CPU
        note_missing(spec, unavailable(framework, exc))
        return None
    apart = None if reference is None else distance(outputs, reference)
    if apart is not None and apart > AGREEMENT:
        note_missing(spec, f"no float64 reading: the float64 twin is {apart:.3g} of the "
                           f"outputs' scale from the model, beyond float32 rounding; it does "
                           f"not compute the same network (a layer whose state its weights "
                           f"do not carry?)")
        return None
    return outputs


def _computes_in_float64(model) -> bool:
    # An InputLayer's policy is the global one whatever the input's dtype: it computes nothing.
    dtypes = {str(getattr(layer, "compute_dtype", "")) for layer in _all_layers(model)
              if type(layer).__name__ != "InputLayer"}
    floats = {d for d in dtypes if d in FLOAT_POLICIES}
    return bool(floats) and floats <= {"float64", "double"}


def _all_layers(model) -> list:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        if getattr(layer, "layers", None):
            found.extend(_all_layers(layer))
    return found


# The last model's float64 twin: a check reads its file at two sizes.
_TWIN: list = []


def _twin_of(model, make_twin):
    if _TWIN and _TWIN[0] is model:
        return _TWIN[1]
    twin = make_twin(model)
    _TWIN[:] = [model, twin]
    return twin


def widen_config(config: Any) -> Any:
    """A copy of a Keras (3 or tf_keras) model configuration with every float dtype policy
    and input dtype float64; ValueError for a layer whose twin would compute something else
    (a quantized layer) or that carries code (a Lambda: never deserialised)."""
    if isinstance(config, list):
        return [widen_config(value) for value in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") in NOT_CLONED:
        raise ValueError("a Lambda layer: parity deserialises no code")
    if config.get("class_name") in POLICY_CLASSES and isinstance(config.get("config"), dict):
        name = config["config"].get("name")
        if name in FLOAT_POLICIES:
            return {**config, "config": {**config["config"], "name": "float64"}}
    if "Quantized" in str(config.get("class_name")):
        raise ValueError(f"a quantized dtype policy ({config.get('config')}): its float64 "
                         f"twin would not compute the same thing")
    wide = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, str) and value in FLOAT_POLICIES:
            wide[key] = "float64"
        else:
            wide[key] = widen_config(value)
    return wide


def _keras3_twin(model):
    import keras

    config = widen_config(keras.saving.serialize_keras_object(model))
    with keras_policy("float64"):
        twin = keras.saving.deserialize_keras_object(config, safe_mode=True)
    _carry_keras3_state(model, twin)
    return lambda inputs: run_keras(twin, inputs)


def _carry_keras3_state(model, twin) -> None:
    """Each layer's variables cast into its twin's through the layer's own
    ``save_own_variables``/``load_own_variables``, as saving and loading a file carries
    them: ``set_weights`` alone leaves a layer's derived state stale (a Normalization's
    mean and variance, which ``load_own_variables`` re-derives)."""
    layers, others = model._flatten_layers(), twin._flatten_layers()
    names, other_names = [x.name for x in layers], [x.name for x in others]
    if names != other_names:
        raise ValueError(f"the twin's layers differ from the model's ({len(names)} and "
                         f"{len(other_names)} layers)")
    for layer, other in zip(layers, others):
        store: dict[str, Any] = {}
        layer.save_own_variables(store)
        if store:
            other.load_own_variables({key: wide_weights([value])[0]
                                      for key, value in store.items()})
    if len(model.get_weights()) != len(twin.get_weights()):
        raise ValueError(f"{len(model.get_weights())} weights in the model, "
                         f"{len(twin.get_weights())} in its float64 twin")


def _tf_keras_twin(model):
    import tf_keras
    from tf_keras.src.saving import serialization_lib

    config = widen_config(model.get_config())
    previous = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy("float64")
    try:
        with serialization_lib.SafeModeScope(True):
            twin = type(model).from_config(config)
    finally:
        tf_keras.mixed_precision.set_global_policy(previous)
    _carry_weights(model, twin)

    def run(inputs):
        return as_arrays(twin(keras_inputs(twin, inputs), training=False))
    return run


def _carry_weights(model, twin) -> None:
    """tf_keras: ``set_weights`` finalises each layer's derived state itself."""
    weights = model.get_weights()
    if len(weights) != len(twin.get_weights()):
        raise ValueError(f"{len(weights)} weights in the model, {len(twin.get_weights())} "
                         f"in its float64 twin")
    twin.set_weights(wide_weights(weights))
