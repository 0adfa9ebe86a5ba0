"""Files are data: the bounds on what a file may make parity read, and the scans that refuse
what would run a file's own code (a Lambda, a class parity cannot name) or reach outside the
model's folder (ONNX external data), before any framework reads the file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.sources.file.errors import FileError, UnsupportedFile, first_line

MB = 2**20
# Bounds on what a file may make parity read; PARITY_CHECK_MAX_MB raises the model's.
MAX_MODEL_BYTES = 4096 * MB
MAX_CONFIG_BYTES = 64 * MB  # an architecture JSON, a model_config attribute
MAX_INPUT_BYTES = 1024 * MB  # a user's .npz of inputs, uncompressed
MAX_EXTERNAL_FILES = 10_000

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

def _walk_layers(config: Any):
    """Every object config (a dict with class_name) in a Keras configuration, depth first."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            yield config
        for value in config.values():
            yield from _walk_layers(value)
    elif isinstance(config, list):
        for value in config:
            yield from _walk_layers(value)


def _object_name(obj: dict) -> str:
    inner = obj.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return f"layer {name!r} " if isinstance(name, str) else ""


def scan_keras3_config(path: Path, config: Any) -> None:
    """Refuses a .keras configuration that names a class Keras 3 could only get from code
    the file does not carry (a custom layer not registered here)."""
    import keras

    known = keras.saving.get_custom_objects()
    for obj in _walk_layers(config):
        module = obj.get("module")
        registered = obj.get("registered_name")
        if obj["class_name"] in ("Lambda", "__lambda__"):
            raise UnsupportedFile(path, f"{_object_name(obj)}is a Lambda layer: its code "
                                        f"travels as Python bytecode, which parity never "
                                        f"loads (safe_mode); replace it by a registered "
                                        f"layer class")
        custom = isinstance(registered, str) and ">" in registered
        builtin = isinstance(module, str) and (module.split(".", 1)[0] in KERAS_FAMILY
                                               or module == "builtins")
        if builtin and not custom:
            continue
        if isinstance(registered, str) and registered in known:
            continue
        if not custom and not isinstance(module, str):
            continue  # a plain value (a shape, a dtype) rather than an object
        label = registered if isinstance(registered, str) else obj["class_name"]
        raise UnsupportedFile(path, f"{_object_name(obj)}is a custom class {label!r} "
                                    f"with no definition here; parity runs no code from a "
                                    f"file: register the class in a module "
                                    f"(keras.saving.register_keras_serializable) and name "
                                    f"it with --plugins MODULE")


def scan_keras2_config(path: Path, config: Any) -> None:
    """Refuses a Keras-2 configuration with a Lambda (its code travels as bytecode) or a
    class tf_keras does not define and no plugin registered."""
    import tf_keras

    custom = tf_keras.saving.get_custom_objects()
    for obj in _walk_layers(config):
        name = obj["class_name"]
        inner = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        if name == "Lambda" or inner.get("function_type") == "lambda":
            raise UnsupportedFile(path, f"{_object_name(obj)}is a Lambda layer: its code "
                                        f"travels as Python bytecode, which parity never "
                                        f"loads; replace it by a registered layer class")
        if name in custom or any(key.endswith(">" + name) for key in custom):
            continue
        if _tf_keras_knows(tf_keras, name):
            continue
        raise UnsupportedFile(path, f"{_object_name(obj)}is a custom class {name!r} that "
                                    f"tf_keras does not define; parity runs no code from a "
                                    f"file: register the class with "
                                    f"tf_keras.saving.register_keras_serializable in a module "
                                    f"and name it with --plugins MODULE")


_TF_KERAS_NAMESPACES = ("layers", "models", "initializers", "regularizers", "constraints",
                        "activations", "optimizers", "losses", "metrics", "mixed_precision")


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
