"""The files users hold, as stages: ``.keras``, Keras 2's HDF5 and TF SavedModel.

Each stage writes the model the way a user's file was written and reads it back the way a
user loads it, so that a path can start from the file rather than from the live model:

``keras-file``          keras → keras: ``model.save("model.keras")``, then
                        ``keras.saving.load_model(path, safe_mode=True)``.
``h5``                  keras → keras: the same layer built in tf-keras (Keras 2), its weights
                        copied, saved as ``model.h5`` by tf-keras, then loaded by Keras 3
                        (``keras.saving.load_model(path, safe_mode=True)``), as a user holding
                        a Keras-2 ``.h5`` does today before converting it.
``savedmodel``          keras → savedmodel: ``model.export(dir)`` (a TF SavedModel directory,
                        run by loading it with ``tf.saved_model.load`` and calling ``serve``).
``tf2onnx-savedmodel``  savedmodel → onnx: what ``python -m tf2onnx.convert --saved-model DIR``
                        does, in-process (``tf_loader.from_saved_model``, then
                        ``convert._convert_common``).

``carry_into_keras3`` is the second half of ``h5`` on its own: a tf_keras model carried
into Keras 3 (the ``keras3`` stage of a Keras-2 file's paths, ``harness.converters.tf_keras``).

Files are data: every load uses ``safe_mode=True`` (no lambda deserialisation) and knows only
the custom objects the harness registers itself; a refused or damaged file raises
``SavedFormatError`` naming the file.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    NotApplicable,
    tf2onnx_passes,
)
from harness.converters import tf2onnx_einsum as einsum_choices
from harness.converters.keras3_breaks import builtin, keras3_break
from harness.converters.onnx_ir import pin_ir_version
from harness.converters.savedmodel_signature import (
    SIGNATURE_META,
    SignatureError,
    choose,
    choose_name,
    signature_names,
)
from harness.core.frameworks import TF2ONNX_ENVIRONMENT
from harness.core.stages import stage
from harness.runtimes.keras import call_tf
from harness.runtimes.keras_custom import register_custom_objects


class SavedFormatError(ConversionError):
    """A saved model file could not be written or was refused on loading; names the file."""


class UnsupportedByTfKeras(ConversionError):
    """The layer kind (or these attributes) cannot be built in tf-keras (Keras 2)."""


@dataclass
class SavedFiles:
    """A model that lives on disk: the path of the file or directory, and the temporary
    folder that holds it (removed when the artifact is garbage-collected)."""

    path: Path
    owner: Any = field(default=None, repr=False)

    def __fspath__(self) -> str:
        return str(self.path)


def _workdir(options: ConvertOptions, prefix: str) -> tempfile.TemporaryDirectory:
    if options.workdir is not None:
        Path(options.workdir).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=options.workdir)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def save_in_workdir(options: ConvertOptions, prefix: str, filename: str, save, refusal: str):
    """Writes a model with ``save(path)`` into a fresh folder under the options' workdir;
    returns the path and the folder's owner (the folder lives as long as the owner)."""
    owner = _workdir(options, prefix)
    path = Path(owner.name) / filename
    try:
        save(str(path))
    except Exception as exc:
        raise SavedFormatError(f"{path}: {refusal} "
                               f"({type(exc).__name__}: {_first_line(exc)})") from exc
    return path, owner


# -- loaders (usable on their own, on a user's file) ----------------------------------------

def load_keras_file(path: str | Path):
    """A ``.keras`` (or Keras-2 ``.h5``) file loaded by Keras 3 with ``safe_mode=True``.

    Only the custom objects that parity registers itself are known to the loader; a file
    that needs anything else, or that carries a lambda, is refused with its name.
    """
    import keras

    # The custom objects the harness defines itself are the only ones a saved model may name.
    register_custom_objects()
    path = Path(path)
    if not path.is_file():
        raise SavedFormatError(f"{path}: no such model file")
    try:
        return keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except Exception as exc:
        text = str(exc)
        if "safe_mode" in text or "lambda" in text.lower():
            raise SavedFormatError(
                f"{path}: refused to load a model that deserialises Python code (a Lambda "
                f"layer or lambda function) with safe_mode=True; parity never loads such "
                f"files unsafely. Keras said: {_first_line(exc)}"
            ) from exc
        broken = keras3_break(text)
        if broken is not None:  # a Keras-2 file's own break, innermost first
            raise SavedFormatError(f"{path}: {broken}") from exc
        missing = unregistered_object(text)
        if missing is not None:
            raise SavedFormatError(f"{path}: Keras cannot load this model: "
                                   f"{unregistered_text(*missing)}") from exc
        raise SavedFormatError(
            f"{path}: Keras cannot load this model file ({type(exc).__name__}: "
            f"{_first_line(exc)}); is it complete and a {path.suffix or 'model'} file?"
        ) from exc


# What Keras 3 and tf_keras say of a name no one registered.
_UNREGISTERED = re.compile(
    r"Could not locate (?P<kind>class|function) '(?P<name>[^']+)'"
    r"|Cannot deserialize object of type `(?P<type>[^`]+)`"
    r"|Unknown (?P<what>layer|activation function|initializer|regularizer|constraint|"
    r"loss function|metric function|object)s?: '(?P<unknown>[^']+)'")


def unregistered_object(text: str) -> tuple[str, str] | None:
    """(what, name) of the class or function a Keras error says no one registered."""
    found = _UNREGISTERED.search(text)
    if found is None:
        return None
    if found["name"]:
        what, name = found["kind"], found["name"]
    elif found["type"]:
        what, name = "class", found["type"]
    else:
        what, name = found["what"], found["unknown"]
    # tf_keras names a function saved as {"class_name": "function"} 'function': no name to
    # give; a class Keras itself defines (Functional, Sequential) is no custom object.
    if name == "function" or (what == "class" and builtin(name)):
        return None
    return what, name


def unregistered_text(what: str, name: str, keras: str = "keras") -> str:
    """One line: the file names a ``what`` ``name`` that is not registered, and how to."""
    return (f"it names the {what} {name!r}, which is not registered here; parity runs no "
            f"code from a file: register it under that name, with --custom-objects "
            f"MODULE:NAME (NAME a dict in MODULE: {{{name!r}: ...}}) or with --plugins MODULE "
            f"(a module that does {keras}.saving.get_custom_objects()[{name!r}] = ...)")


def load_savedmodel(path: str | Path):
    """A TF SavedModel directory, loaded with ``tf.saved_model.load`` (no Python code runs
    from the directory: a SavedModel holds graphs, not pickles)."""
    import tensorflow as tf

    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise SavedFormatError(f"{path}: not a SavedModel directory (no saved_model.pb)")
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:
        raise SavedFormatError(
            f"{path}: TensorFlow cannot load this SavedModel ({type(exc).__name__}: "
            f"{_first_line(exc)})"
        ) from exc


def run_savedmodel(loaded, inputs, signature: str | None = None):
    """Calls the ``serve`` endpoint that ``model.export`` writes, or, where a signature is
    named or there is no ``serve``, the signature every SavedModel leg chooses
    (harness.converters.savedmodel_signature): inputs by its sorted keys, outputs in sorted
    key order, as tf2onnx orders them."""
    import tensorflow as tf

    def tensors(xs):
        return [tf.convert_to_tensor(x) for x in xs]

    if signature is None and hasattr(loaded, "serve"):
        # in the structure the model takes (a tensor, a list, a dict of named inputs), whose
        # flattened order, sorted keys for a dict, is the case's as it is Keras'
        structure = loaded.serve.input_signature
        return call_tf(lambda *xs: loaded.serve(*tf.nest.pack_sequence_as(
            structure, tensors(xs))), inputs)
    chosen = choose(loaded, signature)
    names = [key for key, _ in chosen.inputs]
    return call_tf(lambda *xs: chosen.function(**dict(zip(names, tensors(xs)))), inputs)


class SavedModelRunner:
    """A TF SavedModel directory, loaded with ``tf.saved_model.load``; calls ``serve``. The
    runner registry names it by ``"harness.converters.saved_formats:SavedModelRunner"``."""

    name = "savedmodel"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        return run_savedmodel(load_savedmodel(artifact.model), inputs,
                              artifact.meta.get(SIGNATURE_META))


# -- stages ----------------------------------------------------------------------------------

@stage("keras-file", "keras", "keras", packages=("keras", "h5py"))
class KerasFileConverter:
    """keras → keras through a ``.keras`` file."""

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        path, _owner = save_in_workdir(options, "parity-keras-file-", "model.keras",
                                       artifact.model.save, "Keras cannot save this model")
        return Artifact("keras", load_keras_file(path), list(artifact.input_names),
                        dict(artifact.meta))


@stage("h5", "keras", "keras", packages=("tf_keras", "h5py"))
class H5Converter:
    """keras → keras through a Keras-2 HDF5 file written by tf-keras and read by Keras 3.

    The case's one layer is built again in tf-keras from its Keras 3 configuration (which
    holds the spec's attributes), the weights are copied, and tf-keras saves it.
    """

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        legacy = build_tf_keras_twin(artifact.model)
        return Artifact("keras", carry_into_keras3(legacy, options),
                        list(artifact.input_names), dict(artifact.meta))


def carry_into_keras3(legacy, options: ConvertOptions):
    """A tf_keras model as Keras 3 reads it: saved by tf_keras as HDF5 (which writes an
    InputLayer for every input, as old files lack) and loaded by Keras 3 with safe_mode, as a
    Keras-2 user who moves to Keras 3 loads their model. The file goes with its folder once
    read: Keras holds the model in memory, and an artifact whose metadata is plain data is one
    the stage cache keeps (a warm run then builds no model where the leg's run hits)."""
    path, _owner = save_in_workdir(options, "parity-h5-", "model.h5",
                                   lambda p: legacy.save(p, save_format="h5"),
                                   "tf-keras cannot save this model as HDF5")
    return load_keras_file(path)


@stage("savedmodel", "keras", "savedmodel", packages=("keras", "tensorflow"))
class SavedModelConverter:
    """keras → savedmodel with Keras 3's ``model.export(dir)``."""

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        path, owner = save_in_workdir(
            options, "parity-savedmodel-", "saved_model",
            lambda p: artifact.model.export(p, format="tf_saved_model", verbose=False),
            "Keras cannot export this model as a SavedModel")
        return Artifact("savedmodel", SavedFiles(path, owner), list(artifact.input_names))


@stage("tf2onnx-savedmodel", "savedmodel", "onnx", packages=("tf2onnx", "tensorflow", "onnx"),
       environment=TF2ONNX_ENVIRONMENT)
class Tf2OnnxSavedModelConverter:
    """savedmodel → onnx as ``python -m tf2onnx.convert --saved-model DIR`` does it."""

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        import tensorflow as tf
        from tf2onnx import convert, tf_loader

        path = str(Path(artifact.model))
        if not (Path(path) / "saved_model.pb").is_file():
            raise SavedFormatError(f"{path}: not a SavedModel directory (no saved_model.pb)")
        # The signature every SavedModel leg uses (tf2onnx alone would take the first one).
        try:
            names = signature_names(path)
            chosen = choose(load_savedmodel(path), artifact.meta.get(SIGNATURE_META)).name \
                if names is None else choose_name(names, artifact.meta.get(SIGNATURE_META),
                                                  lambda: load_savedmodel(path))
        except SignatureError as exc:
            raise NotApplicable(str(exc)) from None
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            path, None, None, ["serve"], [chosen], None, False,
            return_initialized_tables=True, return_tensors_to_rename=True,
        )
        einsum_choices.preload()

        def converted():
            with tf.device("/cpu:0"):
                return convert._convert_common(
                    graph_def, name=path, opset=options.opset, input_names=inputs,
                    output_names=outputs, tensors_to_rename=renames, initialized_tables=tables,
                )

        proto, _ = tf2onnx_passes.converting(converted)
        einsum_choices.record_searched()
        pin_ir_version(proto)
        order_values(proto.graph.input, artifact.input_names)
        order_values(proto.graph.output, artifact.meta.get("output_names"))
        return Artifact("onnx", proto, [i.name for i in proto.graph.input])


def order_values(values, names) -> None:
    """Lists an ONNX graph's inputs or outputs (``values``) in ``names``' order where it names
    each of them once. A SavedModel's signature takes and returns its tensors by key (tf2onnx
    lists them in its own order), while the case feeds its inputs and reads the reference in
    the model's order; a user feeds and fetches by name, which reads the same model either
    way."""
    if not names:
        return
    by_name = {value.name: value for value in values}
    if sorted(names) != sorted(by_name):
        return
    ordered = [by_name[name] for name in names]
    del values[:]
    values.extend(ordered)


# -- tf-keras twins --------------------------------------------------------------------------

# Keys of a Keras 3 layer config that do not change what a loaded layer computes: its
# weights are copied, so initialisers, regularisers and constraints play no part.
_INERT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
_BASE_KEYS = {"name", "trainable"}


def _constructor_parameters(cls) -> dict[str, Any]:
    """The named arguments of ``cls`` and of the classes it hands ``**kwargs`` on to (an LSTM
    passes ``zero_output_for_mask`` to RNN), with their defaults; the subclass' win."""

    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                found.setdefault(name, param.default)
    return found


def _tf_keras_config(layer, cls) -> dict[str, Any]:
    """The Keras 3 layer's config, as the tf-keras class takes it: Keras-3-only arguments
    are dropped where they hold Keras 3's default, and refused otherwise."""
    kind = type(layer).__name__
    accepted = set(_constructor_parameters(cls)) | _BASE_KEYS
    defaults = _constructor_parameters(type(layer))
    # A tf-keras layer computes in its own dtype and casts its inputs to it, so a float16 or
    # float64 layer built without one would compute (and return) float32; its policy's name
    # ("float16", "mixed_float16", ...) is what a Keras-2 file of that layer holds.
    config: dict[str, Any] = {"dtype": layer.dtype_policy.name}
    for key, value in layer.get_config().items():
        if key == "dtype" or key.endswith(_INERT_SUFFIXES):
            continue  # the dtype is set above; see _INERT_SUFFIXES
        if key in accepted:
            config[key] = tuple(value) if isinstance(value, list) else value
        elif (defaults[key] == value) if key in defaults else value in (None, False):
            continue  # a Keras-3-only argument left at its default (or switched off)
        else:
            raise UnsupportedByTfKeras(
                f"unsupported by tf-keras: {kind} has no argument {key!r} in tf-keras "
                f"(here {key}={value!r})")
    return config


def build_tf_keras_twin(model):
    """The same one-layer model in tf-keras (Keras 2), with the Keras 3 model's weights.

    The layer is rebuilt from its own Keras 3 configuration, which holds the case's
    attributes; raises ``UnsupportedByTfKeras`` where the layer or one of its arguments has
    no tf-keras counterpart.
    """
    import tf_keras

    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if len(layers) != 1:
        raise UnsupportedByTfKeras(
            f"unsupported by tf-keras: the h5 stage rebuilds one-layer models only, this "
            f"model has {len(layers)} layers")
    layer = layers[0]
    kind = type(layer).__name__
    cls = getattr(tf_keras.layers, kind, None)
    if cls is None or not isinstance(cls, type):
        raise UnsupportedByTfKeras(f"unsupported by tf-keras: no layer {kind} in tf-keras "
                                   f"{tf_keras.__version__}")
    config = _tf_keras_config(layer, cls)
    wrapped = sorted({value["class_name"] for value in config.values()
                      if _is_serialized_layer(value)})
    if wrapped:
        # A wrapper's inner layer comes as Keras 3's serialised config, which tf-keras does
        # not read (it takes a layer object) and whose auto name ("forward_lstm_4") would
        # make the refusal depend on what the process built before.
        raise UnsupportedByTfKeras(
            f"unsupported by tf-keras: {kind} wraps a layer ({', '.join(wrapped)}), and the "
            f"h5 stage rebuilds layers from plain arguments only")
    try:
        legacy_layer = cls(**config)
    except Exception as exc:
        raise UnsupportedByTfKeras(
            f"unsupported by tf-keras: {kind}(**{_short(config)}) is rejected by tf-keras "
            f"{tf_keras.__version__} ({type(exc).__name__}: {_first_line(exc)})") from exc
    inputs = [tf_keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=f"input_{i}")
              for i, t in enumerate(model.inputs)]
    try:
        outputs = legacy_layer(inputs if len(inputs) > 1 else inputs[0])
    except Exception as exc:
        raise UnsupportedByTfKeras(
            f"unsupported by tf-keras: {kind} cannot be called on inputs of shape "
            f"{[tuple(t.shape) for t in model.inputs]} in tf-keras ({type(exc).__name__}: "
            f"{_first_line(exc)})") from exc
    legacy = tf_keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=model.name)
    _copy_weights(model, legacy, kind)
    return legacy


def _is_serialized_layer(value: Any) -> bool:
    return (isinstance(value, dict) and "class_name" in value and "config" in value
            and str(value.get("module", "")).startswith("keras.layers"))


def _short(config: dict) -> str:
    text = repr({k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")})
    return text if len(text) < 300 else text[:297] + "..."


# tf-keras names some weights differently from Keras 3 (same layout, other name).
_WEIGHT_ALIASES = {"depthwise_kernel": "kernel"}


def _weight_key(name: str, kind: str = "") -> str:
    key = name.rsplit("/", 1)[-1].split(":")[0]
    if kind == "DepthwiseConv2D" or kind == "DepthwiseConv1D":
        return _WEIGHT_ALIASES.get(key, key)
    return key


def _copy_weights(model, legacy, kind: str) -> None:
    """Copies weights in order, checking that their names' last components (kernel, bias,
    gamma, moving_mean...) and shapes agree, so that two weights of one shape cannot swap."""
    source = list(model.weights)
    target = list(legacy.weights)
    source_keys = [(_weight_key(v.path, kind), tuple(v.shape)) for v in source]
    target_keys = [(_weight_key(w.name, kind), tuple(w.shape)) for w in target]
    if source_keys != target_keys:
        raise UnsupportedByTfKeras(
            f"unsupported by tf-keras: {kind}'s weights differ between Keras 3 {source_keys} "
            f"and tf-keras {target_keys}")
    legacy.set_weights([v.numpy() for v in source])
