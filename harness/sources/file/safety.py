"""Files are data: the bounds on what a file may make parity read, and the scans that refuse
what would run a file's own code (a Lambda, a class parity cannot name) or reach outside the
model's folder (ONNX external data), before any framework reads the file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sources.file.errors import FileError, UnsupportedFile, first_line

MB = 2**20
# Bounds on what a file may make parity read; PARITY_CHECK_MAX_MB raises the model's.
MAX_MODEL_BYTES = 4096 * MB
MAX_CONFIG_BYTES = 64 * MB  # an architecture JSON, a model_config attribute
MAX_INPUT_BYTES = 1024 * MB  # a user's .npz of inputs, uncompressed
MAX_EXTERNAL_FILES = 10_000
# The largest input parity draws for a file, checked before it is made: a declared dimension
# of 2**31 - 1 would otherwise be allocated (parity check --max-input-mb raises it).
MAX_DRAWN_INPUT_BYTES = 1024 * MB

KERAS_FAMILY = ("keras", "keras_hub", "keras_cv", "keras_nlp")


# -- sizes -----------------------------------------------------------------------------------

def max_model_bytes() -> int:
    text = os.environ.get("PARITY_CHECK_MAX_MB")
    return int(float(text) * MB) if text else MAX_MODEL_BYTES


def size_of(path: Path) -> int:
    """A file's size; a folder's, of all its files."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def check_size(path: Path, limit: int | None = None) -> int:
    limit = max_model_bytes() if limit is None else limit
    size = size_of(path)
    if size > limit:
        raise FileError(path, f"{size / MB:.0f} MB, above the {limit / MB:.0f} MB parity "
                              f"reads (set PARITY_CHECK_MAX_MB to raise it)")
    return size


def read_json(path: Path) -> Any:
    """A JSON file (an architecture), read only within MAX_CONFIG_BYTES."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise FileError(path, f"a {size / MB:.0f} MB JSON file; parity reads architecture "
                              f"files up to {MAX_CONFIG_BYTES // MB} MB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(path, f"not valid JSON ({first_line(exc)})") from None


# -- Keras configurations: what a file may name -----------------------------------------------

@dataclass
class MissingClass:
    """A class a file's configuration names and no one registered here: the name the file
    looks it up by (``registered_name``, "package>Name" or a bare "Name"; a Keras-2 HDF5
    file's ``class_name``), its Python name, and the layers that use it."""

    key: str
    class_name: str
    layers: list[str] = field(default_factory=list)
    kind: str = "class"  # or "function" (an activation, a loss)


class MissingCustomObjects(UnsupportedFile):
    """A file that names custom classes not registered here: one line naming each, where it
    is used, and how to register them (``--custom-objects`` or ``--plugins``)."""

    def __init__(self, path, missing: list[MissingClass], keras: str = "keras"):
        self.missing = missing
        super().__init__(path, missing_classes_text(missing, keras))


def missing_classes_text(missing: list[MissingClass], keras: str = "keras") -> str:
    """What a file's missing classes are and how to register them, for ``keras`` (Keras 3)
    or ``tf_keras``; the dict keys are the names the file gives, so both forms of a
    registered name ("package>Name", bare "Name") load."""
    listed = ", ".join(_missing_text(m) for m in missing)
    entries = "{" + ", ".join(f"{m.key!r}: {m.class_name}" for m in missing) + "}"
    noun = "class" if all(m.kind == "class" for m in missing) else "object"
    count = (f"{len(missing)} custom {noun}{'es' if noun == 'class' else 's'} have"
             if len(missing) > 1 else f"1 custom {noun} has")
    families = sorted({m.key.partition(">")[0] for m in missing
                       if m.key.partition(">")[0] in KERAS_FAMILY[1:]})
    family = (f" (classes of {', '.join(families)}: --plugins {','.join(families)})"
              if families else "")
    return (f"{count} no definition here: {listed}{family}; parity runs no code from a file: "
            f"register each under the name the file gives it, with --custom-objects "
            f"MODULE:NAME (NAME a dict in MODULE, as {keras}.models.load_model"
            f"(custom_objects=...) takes it: {entries}) or with --plugins MODULE (a module "
            f"that does {keras}.saving.get_custom_objects().update({entries}))")


def _missing_text(missing: MissingClass) -> str:
    where = [*([missing.kind] if missing.kind != "class" else []),
             *([_layers_text(missing.layers)] if missing.layers else [])]
    return f"{missing.key!r} ({'; '.join(where)})" if where else repr(missing.key)


def _layers_text(layers: list[str], shown: int = 3) -> str:
    names = ", ".join(repr(name) for name in layers[:shown])
    more = f" and {len(layers) - shown} more" if len(layers) > shown else ""
    return f"layer{'s' if len(layers) > 1 else ''} {names}{more}"


def _walk_objects(config: Any, layer: str | None = None):
    """Every object config (a dict with class_name) in a Keras configuration, depth first,
    with the name of the layer it belongs to (its own name for a layer; a layer's for an
    initialiser, regularizer or activation inside it)."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            layer = _own_name(config) or layer
            yield config, layer
        for value in config.values():
            yield from _walk_objects(value, layer)
    elif isinstance(config, list):
        for value in config:
            yield from _walk_objects(value, layer)


def _own_name(obj: dict) -> str | None:
    inner = obj.get("config")
    name = obj.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return name if isinstance(name, str) else None


def _object_name(layer: str | None) -> str:
    return f"layer {layer!r} " if layer else ""


def _note_missing(missing: dict[str, MissingClass], key: str, class_name: str,
                  layer: str | None, kind: str = "class") -> None:
    entry = missing.setdefault(key, MissingClass(key, class_name, kind=kind))
    if layer and layer not in entry.layers:
        entry.layers.append(layer)


def _refuse_lambda(path: Path, layer: str | None, safe_mode: str = " (safe_mode)") -> None:
    raise UnsupportedFile(path, f"{_object_name(layer)}is a Lambda layer: its code travels as "
                                f"Python bytecode, which parity never loads{safe_mode}; "
                                f"replace it by a registered layer class")


def keras3_lookup_name(obj: dict) -> str | None:
    """The name Keras 3 looks a custom object up by (None for a built-in or a plain value):
    its ``registered_name`` ("package>Name", or a bare "Name" with ``module`` null when it
    was saved through ``custom_objects=``); a function's name ("package>name" or "name":
    Keras writes a function that is not its own under ``module`` builtins)."""
    module = obj.get("module")
    registered = obj.get("registered_name")
    if "module" not in obj and "registered_name" not in obj:
        return None  # a plain value (a tensor, a tuple, a shape), not a class
    package = module.split(".", 1)[0] if isinstance(module, str) else None
    if obj["class_name"] == "function":
        name = obj.get("config")
        return None if package in KERAS_FAMILY or not isinstance(name, str) else name
    builtin = package in KERAS_FAMILY or module == "builtins"
    if builtin and not (isinstance(registered, str) and ">" in registered):
        return None
    return registered if isinstance(registered, str) and registered else obj["class_name"]


def scan_keras3_config(path: Path, config: Any) -> None:
    """Refuses a .keras configuration with a Lambda, or that names classes Keras 3 could only
    get from code the file does not carry (custom classes not registered here): all of them
    in one line (MissingCustomObjects)."""
    import keras

    known = keras.saving.get_custom_objects()
    missing: dict[str, MissingClass] = {}
    for obj, layer in _walk_objects(config):
        if obj["class_name"] in ("Lambda", "__lambda__"):
            _refuse_lambda(path, layer)
        key = keras3_lookup_name(obj)
        if key is None or key in known:
            continue
        if obj["class_name"] == "function":
            if not _framework_function(keras, key):
                _note_missing(missing, key, key.rpartition(">")[2], layer, "function")
        else:
            _note_missing(missing, key, obj["class_name"], layer)
    if missing:
        raise MissingCustomObjects(path, list(missing.values()), "keras")


def scan_keras2_config(path: Path, config: Any) -> None:
    """Refuses a Keras-2 configuration with a Lambda (its code travels as bytecode) or with
    classes tf_keras does not define and no one registered here (all in one line)."""
    import tf_keras

    custom = tf_keras.saving.get_custom_objects()
    missing: dict[str, MissingClass] = {}
    for obj, layer in _walk_objects(config):
        name = obj["class_name"]
        inner = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        if name == "Lambda" or inner.get("function_type") == "lambda":
            _refuse_lambda(path, layer, safe_mode="")
        if name == "function":  # {"class_name": "function", "config": "my_activation"}
            function = obj.get("config")
            if (isinstance(function, str) and function not in custom
                    and not _framework_function(tf_keras, function)):
                _note_missing(missing, function, function.rpartition(">")[2], layer,
                              "function")
            continue
        registered = obj.get("registered_name")
        key = registered if isinstance(registered, str) and registered else name
        if key in custom or name in custom or any(k.endswith(">" + name) for k in custom):
            continue
        if ">" not in key and _tf_keras_knows(tf_keras, name):
            continue
        _note_missing(missing, key, name.rpartition(">")[2], layer)
    if missing:
        raise MissingCustomObjects(path, list(missing.values()), "tf_keras")


_TF_KERAS_NAMESPACES = ("layers", "models", "initializers", "regularizers", "constraints",
                        "activations", "optimizers", "losses", "metrics", "mixed_precision")


_FUNCTION_NAMESPACES = ("activations", "losses", "metrics")


def _framework_function(framework, name: str) -> bool:
    """A function Keras 3 or tf_keras (``framework``) defines itself: an activation, a loss."""
    return any(callable(getattr(getattr(framework, namespace, None), name, None))
               for namespace in _FUNCTION_NAMESPACES)


def _tf_keras_knows(tf_keras, name: str) -> bool:
    if name in ("Functional", "Sequential", "Model", "InputLayer", "TensorShape",
                "DTypePolicy", "Policy", "__tuple__", "__numpy__", "__tensor__", "__lambda__"):
        return True
    for namespace in _TF_KERAS_NAMESPACES:
        module = getattr(tf_keras, namespace, None)
        if module is not None and isinstance(getattr(module, name, None), type):
            return True
    return name in ("HeNormal", "GlorotUniform", "Zeros", "Ones", "VarianceScaling")


# -- ONNX external data: from inside the model's folder only ----------------------------------

def load_external_data(path: Path, model) -> list[str]:
    """Loads external tensors from files inside the model's folder only."""
    from onnx import external_data_helper

    tensors = [t for t in external_data_helper._get_all_tensors(model)
               if external_data_helper.uses_external_data(t)]
    if not tensors:
        return []
    folder = path.parent.resolve()
    total = 0
    locations = set()
    for tensor in tensors:
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        candidate = Path(location)
        if (not location or candidate.is_absolute() or ".." in candidate.parts
                or location.startswith(("/", "\\")) or ":" in location):
            raise UnsupportedFile(path, f"tensor {tensor.name!r} points at external data "
                                        f"{location!r} outside the model's folder; parity "
                                        f"reads external data only from beside the model")
        resolved = (folder / candidate).resolve()
        if folder not in resolved.parents:
            raise UnsupportedFile(path, f"tensor {tensor.name!r}'s external data {location!r} "
                                        f"resolves outside the model's folder (a link?)")
        if not resolved.is_file():
            raise FileError(path, f"tensor {tensor.name!r}'s external data file {location!r} "
                                  f"is missing beside the model")
        locations.add(resolved)
        total += int(info.get("length", 0)) or 0
    if len(locations) > MAX_EXTERNAL_FILES:
        raise FileError(path, f"its tensors live in {len(locations)} external files")
    size = sum(p.stat().st_size for p in locations)
    if size > max_model_bytes():
        raise FileError(path, f"its external data holds {size / MB:.0f} MB, above the "
                              f"{max_model_bytes() / MB:.0f} MB parity reads")
    try:
        external_data_helper.load_external_data_for_model(model, str(folder))
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"cannot read its external data ({first_line(exc)})") from None
    return [f"external data read from {len(locations)} file(s) beside the model"]
