"""Which function of a TF SavedModel its users' tools call: the one choice every SavedModel
leg makes (the file source's reading, ``tf2onnx --saved-model``, ``TFLiteConverter.
from_saved_model``).

Its ``serving_default`` signature, as ``TFLiteConverter.from_saved_model(dir)`` takes; else
the one signature it has; else a refusal that names what is there. ``parity check
--signature NAME`` picks another (``Artifact.meta["signature"]`` carries it down the legs).

A SavedModel with no signatures whose root object is a callable ``tf.function`` can be called,
but no converter reads it: tf2onnx and the TFLite converter read signatures. The refusal
names the callable and its inputs, and how to save the model again with ``signatures=``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_META = "signature"  # the Artifact.meta key that carries --signature down the legs


class SignatureError(ValueError):
    """No signature can be chosen: the message says what the SavedModel holds."""


@dataclass(frozen=True)
class Signature:
    """A SavedModel's chosen signature: its key, its function, its input keys in the order
    the case feeds them (sorted, as TensorFlow orders a signature's keyword arguments) with
    their TensorSpecs, and its output keys in the order its outputs are read (sorted, as
    tf2onnx and ``call_tf`` order them)."""

    name: str
    function: Any
    inputs: list[tuple[str, Any]]
    outputs: list[str]


def _spec_text(spec) -> str:
    dims = "x".join("?" if d is None else str(d) for d in spec.shape.as_list()) \
        if spec.shape.rank is not None else "any shape"
    return f"{spec.dtype.name}[{dims or 'scalar'}]"


def _callable_root(loaded) -> str | None:
    """The root's ``__call__`` and its inputs in words, where it is a tf.function with a
    traced input signature; None otherwise."""
    import tensorflow as tf

    # A restored tf.function is an attribute of the instance, which callable() does not see.
    call = getattr(loaded, "__call__", None)  # noqa: B004
    functions = list(getattr(call, "concrete_functions", None) or [])
    if not functions:
        return None
    specs = [s for s in tf.nest.flatten(functions[0].structured_input_signature)
             if isinstance(s, tf.TensorSpec)]
    inputs = ", ".join(f"{s.name or f'input_{i}'}: {_spec_text(s)}"
                       for i, s in enumerate(specs))
    return f"__call__({inputs})"


def signature_names(folder) -> list[str] | None:
    """The signature keys ``saved_model.pb`` declares, read from the proto without loading
    the model; None where it cannot be parsed so."""
    try:
        from tensorflow.python.saved_model import loader_impl

        saved = loader_impl.parse_saved_model(str(folder))
    except Exception:  # noqa: BLE001  (the model's own load says what is wrong)
        return None
    graphs = list(saved.meta_graphs)
    return sorted(key for key in graphs[0].signature_def if not key.startswith("_")) \
        if graphs else []


def choose_name(names: list[str], wanted: str | None, reload: Callable[[], Any]) -> str:
    """The key of the signature every SavedModel leg uses, of ``names``: ``wanted`` where
    given, else ``serving_default``, else the only one; ``reload()`` gives the loaded
    SavedModel that a refusal of one without signatures describes."""
    names = sorted(names)
    if wanted is not None:
        if wanted not in names:
            raise SignatureError(f"--signature {wanted}: the SavedModel has no such signature "
                                 f"(it has {', '.join(map(repr, names)) or 'none'})")
        name = wanted
    elif DEFAULT_SIGNATURE in names:
        name = DEFAULT_SIGNATURE
    elif len(names) == 1:
        name = names[0]
    elif names:
        raise SignatureError(f"the SavedModel has {len(names)} signatures and none is "
                             f"{DEFAULT_SIGNATURE!r} ({', '.join(map(repr, names))}): name the "
                             f"one to check with --signature NAME")
    else:
        raise SignatureError(no_signature_text(reload()))
    return name


def choose(loaded, wanted: str | None = None) -> Signature:
    """The signature of ``loaded`` (``tf.saved_model.load``'s object) that every SavedModel
    leg uses (``choose_name``), with its inputs and outputs."""
    signatures = {name: fn for name, fn in getattr(loaded, "signatures", {}).items()
                  if not name.startswith("_")}
    name = choose_name(list(signatures), wanted, lambda: loaded)
    function = signatures[name]
    inputs = function.structured_input_signature[1]
    outputs = function.structured_outputs
    output_keys = sorted(outputs) if isinstance(outputs, dict) else [
        f"output_{i}" for i in range(len(outputs) if isinstance(outputs, (list, tuple)) else 1)]
    return Signature(name, function, [(key, inputs[key]) for key in sorted(inputs)],
                     output_keys)


def no_signature_text(loaded) -> str:
    """Why a SavedModel without signatures is refused, and what to do."""
    root = _callable_root(loaded)
    need = ("tf2onnx (--saved-model) and the TFLite converter (from_saved_model) read a "
            "SavedModel by its signatures")
    if root is None:
        return (f"the SavedModel has no signatures and its root object is not callable: "
                f"nothing to call; {need}: save it with tf.saved_model.save(obj, DIR, "
                f"signatures={{'serving_default': obj.FUNCTION}}), FUNCTION a tf.function with "
                f"an input_signature")
    return (f"the SavedModel has no signatures; its root object is a callable tf.function, "
            f"{root}, which TensorFlow can call but {need}, so parity checks none of its "
            f"legs: save it again with a signature, tf.saved_model.save(obj, DIR, "
            f"signatures={{'serving_default': obj.__call__}}) (a tf.function with an "
            f"input_signature; else obj.__call__.get_concrete_function(tf.TensorSpec(...)))")


def inputs_text(signature: Signature) -> str:
    return ", ".join(f"{key}: {_spec_text(spec)}" for key, spec in signature.inputs)
