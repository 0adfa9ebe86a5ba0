"""The float64 yardstick: the source's own rounding error, against which a leg is judged.

The reference of a float32 case is computed a second time in float64 (same layer, same
weights, same inputs); ``|y32 - y64|`` is what the source itself commits (its
``source_error``), ``|leg - y64|`` what the leg commits (its ``leg_error``). A leg that
fails its tolerance only by numbers still passes when it is no further from the float64
truth than ``K`` times the source itself, or when its error is below an absolute ``FLOOR``
(see docs/tolerances.md). A crash, a shape or dtype mismatch or a NaN where the source has
none is never rescued.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np

# A leg within K times the source's own float64 error passes. Measured over the layer suite
# and 13 keras.applications (docs/tolerances.md): correct legs sit at ratio <= 1.1 (layers) and
# <= 4.8 (applications); weights perturbed by 1e-3 or one dropped bias sit at >= 3000.
K = 10.0
# Below this absolute error (against float64) a leg passes whatever the source's error: a
# source that is exact in float32 (max pooling, a reshape: source_error 0) gives no scale.
FLOOR = 1e-6

# Why the last cases had no yardstick (case id -> reason), for the record.
_MISSING: OrderedDict[str, str] = OrderedDict()
_MISSING_KEPT = 512


def missing_reason(spec) -> str | None:
    """Why this case has no float64 reading (``keras_reading``, ``keras_model_reading`` or a
    source that has none returned None), if it was read in this process."""
    return _MISSING.get(spec.case_id)


def note_missing(spec, why: str) -> None:
    """Records why the case has no yardstick, for its legs' records (``missing_reason``)."""
    _MISSING[spec.case_id] = why
    while len(_MISSING) > _MISSING_KEPT:
        _MISSING.popitem(last=False)


def keras_reading(spec, model, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The Keras model's outputs recomputed in float64; None where that cannot be done
    (``missing_reason`` says why): a float64 case (its reference is its own yardstick), a
    layer without a float64 kernel on this device, a model whose weights do not carry over.
    """
    if spec.dtype == "float64":
        note_missing(spec, "the case computes in float64")
        return None
    try:
        return _float64_outputs(spec, model, inputs)
    except Exception as exc:  # e.g. an op with no float64 kernel on the CPU
        note_missing(spec, f"no float64 reading: {type(exc).__name__}: {_first_line(exc)}")
        return None


def _first_line(exc: Exception) -> str:
    """The gist of a Keras/TensorFlow error: its first non-empty line, without terminal
    colour codes (Keras wraps the op's own message in a few lines of context)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception encountered")]
    return (useful or lines or [""])[0][:300]


def _float64_outputs(spec, model, inputs):
    from harness.core import registry
    from harness.sources.keras.axes import keras_policy
    from harness.sources.keras.model import build_model, run_keras, twin_reference

    wide = replace(spec, dtype="float64")
    own_builder = registry.get(spec.kind, spec.source).build_model
    with keras_policy("float64"):
        if own_builder is not None:
            # A whole model: its weights come from the float32 model, so the drawing and
            # calibration build_model adds (seconds for an application) are skipped.
            model64 = own_builder(dict(spec.attrs), [tuple(s) for s in spec.input_shapes],
                                  "float64")
        else:
            model64 = build_model(wide)
        weights = model.get_weights()
        if len(weights) != len(model64.weights):
            raise ValueError(f"{len(weights)} weights in float32, {len(model64.weights)} "
                             "in float64")
        model64.set_weights(_wide_weights(weights))
        wide_inputs = _wide_inputs(inputs)
        # A channels_first convolution is read through its channels_last twin, as the
        # reference is (harness.sources.keras.model.channels_last_twin).
        outputs = twin_reference(model64, wide, wide_inputs)
        if outputs is None:
            outputs = run_keras(model64, wide_inputs)
    return _checked(outputs, "the layer")


def _checked(outputs, what: str) -> list[np.ndarray]:
    """The float64 outputs, or ValueError where they are not a float64 reading."""
    narrow = sorted({str(np.asarray(y).dtype) for y in outputs} - {"float64"})
    if narrow:
        # A layer that stays float32 when built in float64 reads the float32 computation
        # again: no yardstick. (One that computes in float32 inside and casts back cannot be
        # told apart: TensorFlow's ResizeBicubic. Its source_error is 0, so only the floor
        # can rescue one of its legs: never a false pass, at worst no rescue.)
        raise ValueError(f"{what} returns {', '.join(narrow)} even when built in float64")
    outputs = [np.asarray(y, dtype=np.float64) for y in outputs]
    for y in outputs:
        if not np.isfinite(y).all():
            raise ValueError("non-finite float64 output")
    return outputs


def _wide_inputs(inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [x.astype(np.float64) if x.dtype.kind == "f" else x for x in inputs]


def _wide_weights(weights: list) -> list:
    return [np.asarray(w, dtype=np.float64) if np.asarray(w).dtype.kind == "f" else w
            for w in weights]


# -- a user's whole model (parity check) -----------------------------------------------------

# The dtype policies a float64 twin replaces (a layer's ``dtype``, an input's), in Keras 3's
# and tf_keras' configurations; integer and boolean ones stay.
FLOAT_POLICIES = frozenset({"float16", "bfloat16", "float32", "float64", "half", "float",
                            "double", "mixed_float16", "mixed_bfloat16"})
POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy")
NOT_CLONED = ("Lambda", "__lambda__")


# A float64 twin further from the float32 model than this share of the outputs' largest
# magnitude is not the same network (a layer whose state its weights do not carry): float32
# rounding through 9 applications saved as files stays below 2e-4 of it (2e-2 in an
# EfficientNetB0 whose outputs reach 1e5); a twin that lost its Normalization's state is
# 1.0 away.
TWIN_AGREEMENT = 0.1


def keras_model_reading(spec, model, inputs: list[np.ndarray],
                        reference: list[np.ndarray] | None = None) -> list[np.ndarray] | None:
    """A user's Keras 3 model (``parity check``) recomputed in float64: a twin deserialised
    (safe_mode) from the model's own configuration with every float dtype policy float64,
    each layer's state cast into it as loading a file puts it there. None where that cannot
    be done (``missing_reason`` says why): the model computes in float64 already, its
    configuration cannot be rebuilt (a subclassed model), a layer has no float64 kernel on
    this device, or the twin is further from ``reference`` (the model's float32 outputs)
    than rounding takes it (``TWIN_AGREEMENT``)."""
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
        outputs = _checked(twin(_wide_inputs(inputs)), "the model")
    except Exception as exc:  # e.g. an op with no float64 kernel on the CPU
        note_missing(spec, f"no float64 reading through {framework}: {type(exc).__name__}: "
                           f"{_first_line(exc)}")
        return None
    apart = None if reference is None else _twin_distance(outputs, reference)
    if apart is not None and apart > TWIN_AGREEMENT:
        note_missing(spec, f"no float64 reading: the float64 twin is {apart:.3g} of the "
                           f"outputs' scale from the model, beyond float32 rounding; it does "
                           f"not compute the same network (a layer whose state its weights "
                           f"do not carry?)")
        return None
    return outputs


def _twin_distance(outputs, reference) -> float:
    """max|reference - twin| over the twin's largest magnitude, the worst over outputs;
    differences under FLOOR do not count."""
    if len(outputs) != len(reference):
        return float("inf")
    worst = 0.0
    for wide, narrow in zip(outputs, reference):
        narrow = np.asarray(narrow)
        if narrow.shape != wide.shape:
            return float("inf")
        if wide.size == 0 or narrow.dtype.kind not in "fiub":
            continue
        scale = float(np.abs(wide).max())
        error = float(np.abs(narrow.astype(np.float64) - wide).max())
        if error > FLOOR:
            worst = max(worst, error / scale if scale > 0 else float("inf"))
    return worst


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

    from harness.sources.keras.axes import keras_policy
    from harness.sources.keras.model import run_keras

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
            other.load_own_variables({key: _wide_weights([value])[0]
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
        outputs = twin(inputs if len(inputs) > 1 else inputs[0], training=False)
        return [np.asarray(y) for y in (outputs if isinstance(outputs, (list, tuple))
                                        else [outputs])]
    return run


def _carry_weights(model, twin) -> None:
    """tf_keras: ``set_weights`` finalises each layer's derived state itself."""
    weights = model.get_weights()
    if len(weights) != len(twin.get_weights()):
        raise ValueError(f"{len(weights)} weights in the model, {len(twin.get_weights())} "
                         f"in its float64 twin")
    twin.set_weights(_wide_weights(weights))


def measure(outputs, reference, yardstick) -> dict[str, float] | None:
    """``source_error`` = max|reference - yardstick|, ``leg_error`` = max|leg - yardstick|
    over every output, and their ``ratio``; None where they cannot be compared (a different
    count or shape of outputs: the tolerance comparison reports it).

    ``ratio`` is ``leg_error / max(source_error, FLOOR / K)``: where the source is exact
    (source_error 0) the floor is the scale, so ``ratio <= K`` is exactly the rescue."""
    if len(outputs) != len(reference) or len(reference) != len(yardstick):
        return None
    source_error = leg_error = 0.0
    for leg, ref, wide in zip(outputs, reference, yardstick):
        leg, ref, wide = np.asarray(leg), np.asarray(ref), np.asarray(wide, dtype=np.float64)
        if not (leg.shape == ref.shape == wide.shape):
            return None
        if wide.size == 0:
            continue
        finite = np.isfinite(wide)
        source_error = max(source_error, _max_abs(ref, wide, finite))
        leg_error = max(leg_error, _max_abs(leg, wide, finite))
    ratio = leg_error / max(source_error, FLOOR / K)
    return {"source_error": source_error, "leg_error": leg_error, "ratio": ratio}


def _max_abs(values: np.ndarray, wide: np.ndarray, finite: np.ndarray) -> float:
    if values.dtype.kind not in "fiub":
        return float("inf")
    diff = np.abs(values.astype(np.float64) - wide)
    diff = np.where(finite, diff, 0.0)
    worst = float(diff.max())
    return worst if np.isfinite(worst) else float("inf")


def rescues(measured: dict[str, Any]) -> bool:
    """Whether a leg that failed its tolerance by numbers passes by the yardstick."""
    leg_error = measured["leg_error"]
    return leg_error <= FLOOR or leg_error <= K * measured["source_error"]


def rescue_note(measured: dict[str, Any]) -> str:
    return (f"outside its tolerance, but within the float64 yardstick: the leg is "
            f"{measured['leg_error']:.3g} from the float64 reference, the source itself "
            f"{measured['source_error']:.3g} (ratio {measured['ratio']:.3g} <= {K:g}, or "
            f"under {FLOOR:g})")
