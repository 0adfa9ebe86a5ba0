"""The ``file`` source: a model file a user holds (``parity check MODEL``).

A case of this source names the file, not a drawn configuration::

    LayerSpec(source="file", kind="keras",
              attrs={"path": "/abs/model.keras", "sha256": "...", "input_names": [...], ...},
              input_shapes=((4, 224, 224, 3),), seed=0)

``kind`` is the file's format, recognised from its content (zip members, the HDF5 signature
and its attributes, the MATLAB header, an ONNX protobuf), not from its suffix; a Keras file
is then read by the Keras that wrote it (``writer``: an HDF5 file's ``keras_version``
attribute, a SavedModel's tf_keras metadata):

============  ==============================================  ===========================
kind          what the file is                                read with (starts paths at)
============  ==============================================  ===========================
keras         a Keras 3 ``.keras`` archive                    Keras 3, safe_mode (keras)
h5            an HDF5 file holding a whole Keras model:       tf_keras (tf_keras) /
              ``keras_version`` 2.x (or none) or 3.x          Keras 3, safe_mode (keras)
keras-json    a Keras-2 architecture JSON + ``weights`` .h5   tf_keras (tf_keras)
savedmodel    a TF SavedModel folder; with tf_keras'          tf_keras (tf_keras, and
              metadata it is a Keras-2 model, else a graph    savedmodel) /
                                                              tf.saved_model (savedmodel)
onnx          an ONNX model from any exporter                 onnxruntime, no optimisation
                                                              (onnx)
mat           a MATLAB network (MatConvNet, parity.dlt/1)     parity's importer (mat)
============  ==============================================  ===========================

``start(spec)`` is the format the file reads to, so a user's ``.keras`` goes down the same
``keras>tf2onnx>onnx2torch`` legs as a drawn case: known issues, tolerance rules and the
report apply unchanged. A Keras-2 file starts where its users start: the model tf_keras
reads (the reference), ``tf_keras>tf2onnx-keras2>...`` (tf2onnx's ``from_keras`` on it); a
Keras SavedModel's folder is a second root (``roots``), ``savedmodel>tf2onnx-savedmodel>...``
(``python -m tf2onnx.convert --saved-model DIR``). Its paths through Keras 3
(``tf_keras>keras3>...``, ``harness.converters.keras2``) ask "and if you move to Keras 3?".

A ``.mat`` network's reference is parity's importer run in float64: no MATLAB is at hand to
read the file, and the importer's layers are each checked against the NumPy model of
MATLAB's semantics by ``suites/mat``; the leg (the importer in float32, as users run it) then
shows what float32 and the module's own arithmetic cost on this network.

Files are data: Keras files load with ``safe_mode`` (and tf_keras' loads in its safe-mode
scope, after the configuration is scanned: no Lambda, no class parity cannot name), no
pickle (``allow_pickle=False``), ONNX external data only from inside the model's folder,
sizes bounded. Anything wrong with a file raises ``FileError`` whose message is one line
that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.converters import Artifact, ConvertOptions
from harness.core import registry
from harness.core.inputs import make_inputs
from harness.core.spec import LayerSpec
from harness.sources import SourceError, SourceReading

NAME = "file"
FORMATS = ("keras", "h5", "keras-json", "savedmodel", "onnx", "mat")
# The artifact format each file format is read to: the first element of its paths.
START = {"keras": "keras", "h5": "tf_keras", "keras-json": "tf_keras", "savedmodel": "tf_keras",
         "onnx": "onnx", "mat": "mat"}
PLAIN_SAVEDMODEL_START = "savedmodel"
KERAS2_START = "tf_keras"
KERAS_STARTS = ("keras", KERAS2_START)  # a Keras model: layers, diagnosis, float64 twin

MB = 2**20
# Bounds on what a file may make parity read; PARITY_CHECK_MAX_MB raises the model's.
MAX_MODEL_BYTES = 4096 * MB
MAX_CONFIG_BYTES = 64 * MB  # an architecture JSON, a model_config attribute
MAX_INPUT_BYTES = 1024 * MB  # a user's .npz of inputs, uncompressed
MAX_EXTERNAL_FILES = 10_000

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MATLAB_HEADER = b"MATLAB"
KERAS_MEMBERS = {"config.json", "metadata.json"}
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json", ".onnx", ".mat", ".pb")
KERAS_FAMILY = ("keras", "keras_hub", "keras_cv", "keras_nlp")

# Sizes a free dimension runs at: the case's own, then a second one (by input rank).
FREE_SIZES = {3: (8, 13), 4: (64, 96), 5: (16, 24)}
DEFAULT_FREE_SIZES = (8, 12)
FREE_BATCH = (4, 1)
DEFAULT_INT_BOUND = 2


class FileError(SourceError):
    """A user's file that cannot be read as a model; ``str()`` is one line naming the file."""

    def __init__(self, path, what: str):
        self.path = str(path)
        self.what = " ".join(str(what).split())
        super().__init__(f"{self.path}: {self.what}")


class UnsupportedFile(FileError):
    """A file parity reads but cannot run as it stands: a custom layer without a definition
    here, a Lambda, an op or layer type without a counterpart."""


# -- recognising a file ----------------------------------------------------------------------

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _hdf5_offset(head: bytes) -> int | None:
    """Where the HDF5 signature sits: at 0 or after a user block (512, 1024, ... bytes)."""
    for offset in (0, 512, 1024, 2048, 4096):
        if head[offset:offset + 8] == HDF5_SIGNATURE:
            return offset
    return None


def detect(path: str | Path, weights: str | Path | None = None) -> str:
    """The format of ``path`` (one of FORMATS), from its content; FileError when it is none
    of them, or when it is a part of a model (weights alone) rather than a model."""
    path = Path(path)
    if not path.exists():
        raise FileError(path, "no such file or folder")
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        if (path / "saved_model.pbtxt").is_file():
            raise UnsupportedFile(path, "a SavedModel in text form (saved_model.pbtxt); "
                                        "parity reads saved_model.pb")
        raise FileError(path, "a folder that is not a TF SavedModel (no saved_model.pb); "
                              "give a model file or a SavedModel folder")
    try:
        with open(path, "rb") as handle:
            head = handle.read(4104)
    except OSError as exc:
        raise FileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise FileError(path, "the file is empty")
    if head.startswith(MATLAB_HEADER):
        return "mat"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = set(archive.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise FileError(path, f"a damaged zip archive ({_first_line(exc)})") from None
        if members >= KERAS_MEMBERS:
            return "keras"
        if any(m.endswith(".pkl") or m.endswith("data.pkl") for m in members):
            raise UnsupportedFile(path, "a PyTorch checkpoint (a pickle in a zip); parity "
                                        "never unpickles a file: export it to ONNX "
                                        "(torch.onnx.export) and check the .onnx")
        raise FileError(path, "a zip archive that is not a Keras 3 .keras file (no "
                              "config.json and metadata.json)")
    if _hdf5_offset(head) is not None:
        return _hdf5_kind(path)
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return _json_kind(path, weights)
    if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        raise UnsupportedFile(path, "a Python pickle; parity never unpickles a file")
    if _looks_like_onnx(path):
        return "onnx"
    suffix = path.suffix.lower()
    raise FileError(path, (f"not a readable {suffix} file: its content does not parse as "
                           f"one (truncated or damaged?)") if suffix in MODEL_SUFFIXES else
                    "not a model file parity recognises (.keras, Keras-2 .h5, architecture "
                    ".json, SavedModel folder, .onnx, .mat)")


def _hdf5_kind(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            attrs = set(handle.attrs)
            groups = set(handle.keys())
    except Exception as exc:  # noqa: BLE001  (h5py raises OSError, KeyError, ValueError...)
        raise FileError(path, f"a damaged HDF5 file ({_first_line(exc)})") from None
    if "model_config" in attrs:
        return "h5"
    if "layer_names" in attrs or "model_weights" in groups or "layers" in groups:
        raise FileError(path, "holds weights only (no model_config); give the architecture "
                              "(.json) as MODEL and this file with --weights")
    raise FileError(path, "an HDF5 file that is not a Keras model (no model_config "
                          "attribute) nor a MATLAB -v7.3 file (no MATLAB header)")


@dataclass(frozen=True)
class Writer:
    """The Keras that wrote a file, from what the file says of itself."""

    keras: str  # "keras" (Keras 3) or "tf_keras" (Keras 2: keras 2.x, tf.keras 2.x)
    version: str | None = None  # the file's keras_version attribute
    backend: str | None = None  # its backend attribute

    def note(self) -> str:
        by = "Keras 3" if self.keras == "keras" else "Keras 2"
        version = f" (keras_version {self.version}" if self.version else " (no keras_version"
        backend = f", backend {self.backend})" if self.backend else ")"
        reader = "Keras 3" if self.keras == "keras" else "tf_keras"
        return f"written by {by}{version}{backend}: read by {reader}"


def _text_attr(value) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def h5_writer(path: str | Path) -> Writer:
    """Which Keras wrote a whole-model HDF5 file: Keras 3 where its ``keras_version``
    attribute says 3.x (``model.save("x.h5")`` in Keras 3), else Keras 2 (keras 2.x and
    tf.keras write 2.x; files older than the attribute are Keras' too)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            version = _text_attr(handle.attrs.get("keras_version"))
            backend = _text_attr(handle.attrs.get("backend"))
    except Exception as exc:  # noqa: BLE001  (h5py raises OSError, KeyError, ValueError...)
        raise FileError(path, f"a damaged HDF5 file ({_first_line(exc)})") from None
    major = (version or "").strip().split(".", 1)[0]
    return Writer("keras" if major.isdigit() and int(major) >= 3 else KERAS2_START,
                  version, backend)


def json_writer(path: str | Path, config: dict) -> Writer:
    """Keras 2's ``model.to_json()`` names its writer (``keras_version``, ``backend``);
    Keras 3's names none, and is told by its serialisation format instead (each object
    carries ``module`` and ``registered_name``)."""
    version = _text_attr(config.get("keras_version"))
    major = (version or "").strip().split(".", 1)[0]
    keras3 = (major.isdigit() and int(major) >= 3) or (
        version is None and "module" in config and "registered_name" in config)
    return Writer("keras" if keras3 else KERAS2_START, version,
                  _text_attr(config.get("backend")))


def savedmodel_writer(path: str | Path) -> Writer | None:
    """tf_keras (Keras 2, tf.keras 2.x) writes ``keras_metadata.pb`` beside a SavedModel it
    saves; Keras 3's ``model.export`` and ``tf.saved_model.save`` write none (None: a plain
    graph, no Keras model to read)."""
    return Writer(KERAS2_START) if (Path(path) / "keras_metadata.pb").is_file() else None


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise FileError(path, f"a {size / MB:.0f} MB JSON file; parity reads architecture "
                              f"files up to {MAX_CONFIG_BYTES // MB} MB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileError(path, f"not valid JSON ({_first_line(exc)})") from None


def _json_kind(path: Path, weights) -> str:
    config = _read_json(path)
    if not (isinstance(config, dict) and "class_name" in config and "config" in config):
        raise FileError(path, "a JSON file that is not a Keras model architecture (no "
                              "class_name and config)")
    if weights is None:
        raise FileError(path, "a Keras architecture without weights; give the weights "
                              "file with --weights W.h5")
    return "keras-json"


def _looks_like_onnx(path: Path) -> bool:
    import onnx
    from google.protobuf.message import DecodeError

    if path.stat().st_size > _max_model_bytes():
        return path.suffix.lower() == ".onnx"  # refused by size when read
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError, TypeError):
        return False
    if model.ir_version > 0 and len(model.graph.node) > 0:
        _PARSED.clear()
        _PARSED[_file_key(path)] = model  # parsed once: the reader takes it from here
        return True
    return False


_PARSED: dict[tuple, Any] = {}


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _max_model_bytes() -> int:
    text = os.environ.get("PARITY_CHECK_MAX_MB")
    return int(float(text) * MB) if text else MAX_MODEL_BYTES


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def check_size(path: Path, limit: int | None = None) -> int:
    limit = _max_model_bytes() if limit is None else limit
    size = _size(path)
    if size > limit:
        raise FileError(path, f"{size / MB:.0f} MB, above the {limit / MB:.0f} MB parity "
                              f"reads (set PARITY_CHECK_MAX_MB to raise it)")
    return size


_DIGESTS: dict[tuple, str] = {}


def digest(path: str | Path) -> str:
    """The sha256 of a file; of a folder, of its files' relative names and digests. A file
    is hashed once while its size and modification time stay the same."""
    path = Path(path)
    if path.is_file():
        key = _file_key(path)
        if key not in _DIGESTS:
            _DIGESTS[key] = _sha256(path)
        return _DIGESTS[key]
    if path.is_dir():
        lines = []
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            lines.append(f"{item.relative_to(path).as_posix()} {digest(item)}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()
    raise FileError(path, "no such file or folder")


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


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


# -- reading a model -------------------------------------------------------------------------

@dataclass
class LoadedModel:
    """A model read from a file, and what a case needs to know of it."""

    path: Path
    kind: str  # the file's format (FORMATS)
    start: str  # the artifact format it reads to
    model: Any  # a Keras 3 model, an ONNX ModelProto, a loaded SavedModel, a mat Network
    input_names: list[str]  # the model's own names for its inputs
    input_shapes: list[tuple[int | None, ...]]  # None where a dimension is free
    input_dtypes: list[str]
    weights: Path | None = None
    legacy: Any = None  # the tf_keras model a Keras-2 file was read as (the reference)
    layers: list[dict[str, Any]] = field(default_factory=list)  # {kind, attrs} (Keras)
    int_bounds: list[int | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    owner: Any = field(default=None, repr=False)  # temporary files the model needs
    # Why parity cannot draw the inputs (and what to give instead); None where it can.
    undrawable: str | None = None

    def describe(self) -> str:
        what = {"keras": "a Keras 3 model",
                "h5": ("a Keras 3 HDF5 model" if self.start == "keras"
                       else "a Keras-2 HDF5 model"),
                "keras-json": "a Keras-2 architecture with its weights",
                "savedmodel": ("a TF SavedModel with Keras metadata"
                               if self.start == KERAS2_START else "a TF SavedModel"),
                "onnx": "an ONNX model", "mat": "a MATLAB network"}[self.kind]
        unit = {"onnx": "nodes", "mat": "MATLAB layers"}.get(self.kind, "layers")
        # A Keras model's list starts with the model itself (see _keras_loaded).
        number = len(self.layers) - (1 if self.start in KERAS_STARTS else 0)
        count = f", {number} {unit}" if self.layers else ""
        shapes = ", ".join("x".join("?" if d is None else str(d) for d in s)
                           for s in self.input_shapes)
        return f"{what}{count}; inputs {shapes}"


_CACHE: dict[tuple, LoadedModel] = {}


def load(path: str | Path, weights: str | Path | None = None, kind: str | None = None,
         sha256: str | None = None, outputs: list[str] | None = None) -> LoadedModel:
    """Reads a user's model file (FileError on anything wrong with it); the last model read
    is kept, so that making a case and reading it load the file once. ``outputs`` names the
    outputs of a ``.mat`` network to check (``parity check --output``)."""
    path = Path(path).resolve()
    weights = None if weights is None else Path(weights).resolve()
    kind = kind or detect(path, weights)
    check_size(path)
    if weights is not None:
        if not weights.is_file():
            raise FileError(weights, "no such weights file")
        check_size(weights)
    sha256 = sha256 or digest(path)
    key = (str(path), sha256, None if weights is None else (str(weights), digest(weights)),
           tuple(outputs or ()))
    if key in _CACHE:
        return _CACHE[key]
    if outputs and kind != "mat":
        raise FileError(path, OUTPUTS_ELSEWHERE.format(kind=kind))
    reader = {"keras": _load_keras3, "h5": _load_h5, "keras-json": _load_keras2,
              "savedmodel": _load_savedmodel, "onnx": _load_onnx,
              "mat": lambda p, w, k: _load_mat(p, w, k, outputs)}[kind]
    loaded = reader(path, weights, kind)
    _CACHE.clear()
    _CACHE[key] = loaded
    return loaded


def _keras_loaded(path: Path, kind: str, model, weights=None, legacy=None, notes=(),
                  owner=None, start: str = "keras") -> LoadedModel:
    """A Keras model read from a file: Keras 3's (``start`` keras) or tf_keras' (``start``
    tf_keras, ``legacy`` the same model)."""
    if not getattr(model, "inputs", None):
        raise FileError(path, "the model has no inputs: it was saved before it was built "
                              "(a Sequential without an input shape); build it on an input "
                              "shape and save it again")
    names = [_input_layer_name(t, i) for i, t in enumerate(model.inputs)]
    shapes = [tuple(None if d is None else int(d) for d in t.shape) for t in model.inputs]
    dtypes = [str(getattr(t.dtype, "name", t.dtype)) for t in model.inputs]
    for name, dtype in zip(names, dtypes):
        try:
            numeric = np.dtype(dtype).kind in "fiub"
        except TypeError:
            numeric = False
        if not numeric:
            raise UnsupportedFile(path, f"input {name!r} takes {dtype} values; parity draws "
                                        f"numbers")
    # The model itself first, in the words drawn model cases use, so that known issues
    # and tolerance rules about a model kind (a Sequential) apply to the file too.
    api = {"Sequential": {"api": "sequential"}}.get(type(model).__name__, {})
    layers = [{"kind": type(model).__name__, "attrs": api}]
    layers += [{"kind": type(layer).__name__, "attrs": _layer_attrs(layer)}
               for layer in _flat_layers(model)]
    bounds = [_embedding_bound(model) if np.dtype(d).kind in "iu" else None for d in dtypes]
    return LoadedModel(path, kind, start, model, names, shapes, dtypes, weights, legacy,
                       layers, bounds, list(notes), owner)


def _input_layer_name(tensor, index: int) -> str:
    history = getattr(tensor, "_keras_history", None)
    # Keras 3 names the layer that made a tensor ``operation``, tf_keras ``layer``.
    operation = (getattr(history, "operation", None) or getattr(history, "layer", None)
                 if history is not None else None)
    return getattr(operation, "name", None) or f"input_{index}"


def _flat_layers(model) -> list:
    found = []
    for layer in getattr(model, "layers", []):
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers") and getattr(layer, "layers", None):
            found.extend(_flat_layers(layer))
        else:
            found.append(layer)
    return found


_INERT_KEYS = ("name", "trainable", "dtype")
_INERT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def _layer_attrs(layer) -> dict[str, Any]:
    """A layer's hyper-parameters that known issues and tolerance rules match on: its config's
    JSON scalars and lists of scalars (initialisers and the like left out)."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001  (a layer that cannot describe itself has no attrs)
        return {}
    attrs = {}
    for key, value in config.items():
        if key in _INERT_KEYS or key.endswith(_INERT_SUFFIXES):
            continue
        if isinstance(value, tuple):
            value = list(value)
        if _plain(value):
            attrs[key] = value
    return attrs


def _plain(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return True
    if isinstance(value, float):
        return bool(np.isfinite(value))
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, list) for v in value) and len(value) <= 16
    return False


def _embedding_bound(model) -> int:
    bounds = [int(layer.input_dim) for layer in _flat_layers(model)
              if type(layer).__name__ == "Embedding"]
    return min(bounds) if bounds else DEFAULT_INT_BOUND


def _register_known_objects() -> None:
    from harness.sources.keras.kinds._base import register_custom_objects

    register_custom_objects()


def _load_keras3(path: Path, weights, kind: str) -> LoadedModel:
    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    _register_known_objects()
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise FileError(path, f"its config.json holds {info.file_size / MB:.0f} MB")
            config = json.loads(archive.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise FileError(path, f"a damaged .keras archive ({_first_line(exc)})") from None
    scan_keras3_config(path, config)
    try:
        model = load_keras_file(path)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
    return _keras_loaded(path, kind, model)


def _load_h5(path: Path, weights: Path | None, kind: str) -> LoadedModel:
    """A whole-model HDF5 file, read by the Keras that wrote it."""
    writer = h5_writer(path)
    loaded = (_load_keras3_h5 if writer.keras == "keras" else _load_keras2)(path, weights, kind)
    loaded.notes.insert(0, writer.note())
    return loaded


def _load_keras3_h5(path: Path, weights, kind: str) -> LoadedModel:
    """A Keras 3 ``.h5`` (``model.save("x.h5")``): read by Keras 3 with safe_mode, after its
    configuration is scanned as a ``.keras`` archive's is."""
    from harness.converters.saved_formats import SavedFormatError, load_keras_file

    _register_known_objects()
    scan_keras3_config(path, _h5_model_config(path))
    try:
        model = load_keras_file(path)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
    return _keras_loaded(path, kind, model)


def _load_keras2(path: Path, weights: Path | None, kind: str) -> LoadedModel:
    """A Keras-2 file read by tf_keras: the reference, and where its paths start."""
    import tf_keras
    from tf_keras.src.saving import serialization_lib

    _register_known_objects()
    config = _h5_model_config(path) if kind == "h5" else _read_json(path)
    notes = []
    if kind == "keras-json":
        writer = json_writer(path, config)
        if writer.keras == "keras":
            raise UnsupportedFile(path, "a Keras 3 architecture JSON; parity reads Keras 3 "
                                        "models whole: save it with "
                                        "model.save('model.keras') and check that file")
        notes.append(writer.note())
    scan_keras2_config(path, config)
    try:
        with serialization_lib.SafeModeScope(True):
            if kind == "h5":
                legacy = tf_keras.models.load_model(str(path), compile=False)
            else:
                legacy = tf_keras.models.model_from_json(json.dumps(config))
    except Exception as exc:  # noqa: BLE001  (tf_keras raises anything on a bad file)
        raise FileError(path, f"tf_keras cannot read this Keras-2 model "
                              f"({type(exc).__name__}: {_first_line(exc)})") from None
    if weights is not None:
        _load_legacy_weights(legacy, weights)
    return _keras_loaded(path, kind, legacy, weights, legacy, notes, start=KERAS2_START)


def _h5_model_config(path: Path) -> Any:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs["model_config"]
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"cannot read the model_config attribute "
                              f"({_first_line(exc)})") from None
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    if len(text) > MAX_CONFIG_BYTES:
        raise FileError(path, "its model_config attribute is too large")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileError(path, f"its model_config is not valid JSON ({exc})") from None


def _load_legacy_weights(legacy, weights: Path) -> None:
    with open(weights, "rb") as handle:
        head = handle.read(4104)
    if _hdf5_offset(head) is None:
        raise FileError(weights, "the weights file is not HDF5 (Keras-2 weights are .h5)")
    try:
        legacy.load_weights(str(weights))
    except Exception as exc:  # noqa: BLE001
        raise FileError(weights, f"these weights do not fit the architecture "
                                 f"({type(exc).__name__}: {_first_line(exc)})") from None


def _load_savedmodel(path: Path, weights, kind: str) -> LoadedModel:
    writer = savedmodel_writer(path)
    if writer is not None:
        import tf_keras
        from tf_keras.src.saving import serialization_lib

        _register_known_objects()
        try:
            with serialization_lib.SafeModeScope(True):
                legacy = tf_keras.models.load_model(str(path), compile=False)
        except Exception as exc:  # noqa: BLE001
            raise FileError(path, f"tf_keras cannot read this SavedModel "
                                  f"({type(exc).__name__}: {_first_line(exc)})") from None
        return _keras_loaded(path, kind, legacy, None, legacy,
                             ["written by Keras 2 (keras_metadata.pb): read by tf_keras"],
                             start=KERAS2_START)
    from harness.converters.saved_formats import SavedFormatError, load_savedmodel

    try:
        loaded = load_savedmodel(path)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).split(": ", 1)[-1]) from None
    specs = _savedmodel_signature(path, loaded)
    names = [name for name, _ in specs]
    shapes = [tuple(None if d is None else int(d) for d in spec.shape) for _, spec in specs]
    dtypes = [spec.dtype.name for _, spec in specs]
    bounds = [DEFAULT_INT_BOUND if np.dtype(d).kind in "iu" else None for d in dtypes]
    return LoadedModel(path, kind, PLAIN_SAVEDMODEL_START, loaded, names, shapes, dtypes,
                       int_bounds=bounds)


def _savedmodel_signature(path: Path, loaded) -> list[tuple[str, Any]]:
    """(name, TensorSpec) of each input, in the order ``run_savedmodel`` feeds them."""
    if hasattr(loaded, "serve"):
        try:
            spec = loaded.serve.input_signature
        except AttributeError:
            spec = None
        if spec:
            flat = list(spec[0]) if len(spec) == 1 and isinstance(spec[0], (list, tuple)) \
                else list(spec)
            return [(s.name or f"input_{i}", s) for i, s in enumerate(flat)]
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise UnsupportedFile(path, "a SavedModel with neither a 'serve' endpoint nor a "
                                    "'serving_default' signature: nothing to call")
    inputs = signature.structured_input_signature[1]
    return [(name, inputs[name]) for name in sorted(inputs)]


def _load_onnx(path: Path, weights, kind: str) -> LoadedModel:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = _PARSED.pop(_file_key(path), None) or onnx.load(str(path),
                                                               load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError) as exc:
        raise FileError(path, f"a damaged ONNX file ({_first_line(exc)})") from None
    notes = _load_external_data(path, model)
    initializers = {init.name for init in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    if not graph_inputs:
        raise FileError(path, "the ONNX graph has no inputs to feed")
    names, shapes, dtypes = [], [], []
    for value in graph_inputs:
        tensor = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise UnsupportedFile(path, f"input {value.name!r} is not a tensor "
                                        f"(a sequence or a map); parity feeds tensors")
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        except (KeyError, ValueError):
            raise UnsupportedFile(path, f"input {value.name!r} has element type "
                                        f"{tensor.elem_type}, which parity cannot draw") \
                from None
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                for d in tensor.shape.dim]
        names.append(value.name)
        shapes.append(tuple(dims))
        dtypes.append(np.dtype(dtype).name)
    if any(np.dtype(d).kind not in "fiu" for d in dtypes):
        bad = next(n for n, d in zip(names, dtypes) if np.dtype(d).kind not in "fiu")
        raise UnsupportedFile(path, f"input {bad!r} is not numeric; parity draws numbers")
    bounds = [_gather_bound(model, name) if np.dtype(d).kind in "iu" else None
              for name, d in zip(names, dtypes)]
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    notes.append(f"ONNX IR {model.ir_version}, opset {opsets.get('ai.onnx', '?')}"
                 + (f", written by {model.producer_name} {model.producer_version}".rstrip()
                    if model.producer_name else ""))
    layers = [{"kind": node.op_type, "attrs": {}} for node in model.graph.node]
    return LoadedModel(path, kind, "onnx", model, names, shapes, dtypes, None, None, layers,
                       bounds, notes)


def _gather_bound(model, name: str) -> int:
    """The number of rows of the table an integer input indexes (Gather's data)."""
    tables = {init.name: tuple(init.dims) for init in model.graph.initializer}
    rows = [tables[node.input[0]][0] for node in model.graph.node
            if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == name
            and node.input[0] in tables and tables[node.input[0]]]
    return int(min(rows)) if rows else DEFAULT_INT_BOUND


def _load_external_data(path: Path, model) -> list[str]:
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
    if size > _max_model_bytes():
        raise FileError(path, f"its external data holds {size / MB:.0f} MB, above the "
                              f"{_max_model_bytes() / MB:.0f} MB parity reads")
    try:
        external_data_helper.load_external_data_for_model(model, str(folder))
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"cannot read its external data ({_first_line(exc)})") from None
    return [f"external data read from {len(locations)} file(s) beside the model"]


OUTPUTS_ELSEWHERE = ("--output picks the outputs of a MATLAB .mat network, and this file is "
                     "{kind!r}: save a model whose outputs are the ones to check (of an ONNX "
                     "model: onnx.utils.extract_model(IN, OUT, input_names, output_names)) "
                     "and check that file")


def _load_mat(path: Path, weights, kind: str, outputs: list[str] | None = None) -> LoadedModel:
    from harness.mat import MatImportError, load_network
    from harness.mat.network import DLT
    from harness.mat.shapes import example_shapes

    try:
        network = load_network(str(path), outputs)
    except MatImportError as exc:
        raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
    _check_mat_handlers(path, network)
    names = [name.split(":", 1)[-1] for name in network.inputs]
    declared = example_shapes(network, guess=False)
    shapes = declared or example_shapes(network, guess=True)
    undrawable = None
    if shapes is None and network.format == DLT:
        raise UnsupportedFile(path, "its input layer declares no input size parity reads: "
                                    "give the network an ImageInputLayer, FeatureInputLayer "
                                    "or SequenceInputLayer with its InputSize and export it "
                                    "again with parity's matlab/parity_export.m")
    if shapes is None:  # a MatConvNet network takes images, N×C×H×W, of any size
        undrawable = _mat_undrawable(network, names)
        shapes = [(None, None, None, None)] * len(names)
    free: list[tuple[int | None, ...]] = []
    for shape in shapes:
        dims: list[int | None] = [None, *shape[1:]]
        if declared is None and len(shape) == 4:  # a fully convolutional MatConvNet network
            dims[2] = dims[3] = None
        free.append(tuple(dims))
    layers = [{"kind": layer.type, "attrs": {}} for layer in network.layers]
    return LoadedModel(path, kind, "mat", network, names, free, ["float32"] * len(names),
                       layers=layers, int_bounds=[None] * len(names), notes=list(network.notes),
                       undrawable=undrawable)


def _check_mat_handlers(path: Path, network) -> None:
    """Refuses a network whose layers the importer cannot build (no handler, or a built-in
    handler that refuses the layer), naming them and what would make the file checkable: a
    handler in a --plugins module, or an --output before them."""
    from harness.mat import MatImportError
    from harness.mat.builder import build_module
    from harness.mat.outputs import output_before

    try:
        build_module(network)
    except MatImportError as exc:
        failed = exc.layers
        if not failed:
            raise FileError(path, str(exc).removeprefix(f"{path}: ")) from None
        types = ", ".join(repr(t) for t in dict.fromkeys(layer.type for layer in failed))
        advice = (f"to check the file, register a handler for {types} with "
                  f"harness.mat.register_layer_handler(TYPE, fn) in a module and name the "
                  f"module with --plugins MODULE")
        before = output_before(network, failed)
        if before is not None:
            advice += f", or check the network up to them with --output {before}"
        raise UnsupportedFile(path, f"{str(exc).removeprefix(f'{path}: ')}; {advice}") \
            from None


def _mat_undrawable(network, names: list[str]) -> str:
    from harness.mat.shapes import KEEPS_CHANNELS

    arrays = ", ".join(repr(name) for name in names)
    if len(names) == 1:
        first = next((layer for layer in network.layers if layer.type not in KEEPS_CHANNELS),
                     None)
        before = f" ({first.where} comes first)" if first is not None else ""
        return (f"the network does not declare its input size (net.meta.inputSize) and parity "
                f"cannot take its channels from the first convolution's weights{before}; give "
                f"inputs with --inputs DATA.npz (an array {arrays}, N×C×H×W), or save the "
                f"file again with net.meta.inputSize = [H W C]")
    return (f"the network takes {len(names)} inputs ({arrays}) and does not declare their "
            f"sizes; give inputs with --inputs DATA.npz (arrays named {arrays}, N×C×H×W "
            f"each)")


# -- the case --------------------------------------------------------------------------------

def concrete_sizes(shapes: list[tuple[int | None, ...]]) -> list[list[tuple[int, ...]]]:
    """The input shapes a case runs at: one set, or two where a dimension is free (the batch
    at 4 then 1, other free dimensions at two sizes by input rank)."""
    runs = []
    for which in (0, 1):
        run = []
        for shape in shapes:
            sizes = FREE_SIZES.get(len(shape), DEFAULT_FREE_SIZES)
            run.append(tuple(
                (FREE_BATCH[which] if axis == 0 else sizes[which]) if d is None else int(d)
                for axis, d in enumerate(shape)))
        runs.append(run)
    if runs[0] == runs[1]:
        return runs[:1]
    return runs


def file_specs(path: str | Path, *, weights: str | Path | None = None,
               inputs: dict[str, Any] | None = None, seed: int = 0,
               outputs: list[str] | None = None) -> list[LayerSpec]:
    """The case(s) of a user's file: one per set of input sizes (two where a dimension is
    free), or one on the user's own inputs (``inputs``: {"path", "sha256", "shapes",
    "dtypes", ...} as ``harness.check.data`` describes them); ``outputs`` names the outputs
    of a ``.mat`` network to check."""
    loaded = load(path, weights, outputs=outputs)
    path = loaded.path
    attrs: dict[str, Any] = {
        "path": str(path),
        "sha256": digest(path),
        "input_names": loaded.input_names,
        "input_dtypes": loaded.input_dtypes,
        "free": [[i for i, d in enumerate(s) if d is None] for s in loaded.input_shapes],
    }
    if loaded.start != START[loaded.kind]:
        attrs["start"] = loaded.start
    if weights is not None:
        attrs["weights"] = str(Path(weights).resolve())
        attrs["weights_sha256"] = digest(weights)
    if outputs:
        attrs["outputs"] = list(outputs)
    if loaded.layers and loaded.start in KERAS_STARTS:
        attrs["layers"] = loaded.layers
    if any(b is not None for b in loaded.int_bounds):
        attrs["int_inputs"] = loaded.int_bounds
    dtype = next((d for d in loaded.input_dtypes if np.dtype(d).kind == "f"), "float32")
    if inputs is not None:
        attrs["inputs"] = {k: v for k, v in inputs.items() if k not in ("arrays",)}
        shapes = [tuple(s) for s in inputs["shapes"]]
        _check_user_shapes(loaded, shapes, inputs.get("origin", "--inputs"))
        return [LayerSpec(loaded.kind, attrs, tuple(shapes), dtype, seed, source=NAME)]
    if loaded.undrawable is not None:
        raise UnsupportedFile(path, loaded.undrawable)
    runs = concrete_sizes(loaded.input_shapes)
    attrs["sizes"] = [[list(s) for s in run] for run in runs]
    return [LayerSpec(loaded.kind, attrs, tuple(run), dtype, seed, source=NAME) for run in runs]


def _check_user_shapes(loaded: LoadedModel, shapes, origin: str) -> None:
    if len(shapes) != len(loaded.input_shapes):
        raise FileError(origin, f"holds {len(shapes)} input(s); the model takes "
                                f"{len(loaded.input_shapes)} ({', '.join(loaded.input_names)})")
    for name, shape, wanted in zip(loaded.input_names, shapes, loaded.input_shapes):
        fits = len(shape) == len(wanted) and all(w is None or w == s
                                                 for s, w in zip(shape, wanted))
        if not fits:
            wanted_text = "x".join("?" if d is None else str(d) for d in wanted)
            raise FileError(origin, f"input {name!r} has shape "
                                    f"{'x'.join(map(str, shape))}; the model takes "
                                    f"{wanted_text}")


def second_spec(spec: LayerSpec) -> LayerSpec | None:
    sizes = spec.attrs.get("sizes") or []
    if len(sizes) < 2:
        return None
    return replace(spec, input_shapes=tuple(tuple(s) for s in sizes[1]))


def case_inputs(spec: LayerSpec) -> list[np.ndarray]:
    """The case's inputs: the user's arrays, or seeded draws (N(0, 1) clipped to ±4 for float
    inputs, uniform below the indexed table's size for integer ones) in the model's dtypes."""
    attrs = spec.attrs
    dtypes = attrs.get("input_dtypes") or [spec.dtype] * len(spec.input_shapes)
    user = attrs.get("inputs")
    if user is not None:
        from harness.check.data import load_inputs

        arrays = load_inputs(user)
    else:
        arrays = make_inputs(spec)
    return [np.ascontiguousarray(np.asarray(x).astype(d, copy=False))
            for x, d in zip(arrays, dtypes)]


def _loaded_for(spec: LayerSpec, folder: Path | None = None) -> LoadedModel:
    """The spec's model, read from its path; where that file is gone or changed, from the
    copy a golden case of this spec holds."""
    attrs = spec.attrs
    path = Path(attrs["path"])
    weights = attrs.get("weights")
    candidates = [(path, None if weights is None else Path(weights))]
    copy = _golden_copy(spec, folder)
    if copy is not None:
        candidates.append(copy)
    for model_path, weights_path in candidates:
        if model_path.exists() and digest(model_path) == attrs["sha256"]:
            return load(model_path, weights_path, spec.kind, attrs["sha256"],
                        attrs.get("outputs"))
    if path.exists():
        raise FileError(path, f"changed since the case was made (sha256 "
                              f"{attrs['sha256'][:12]}... expected); check the file again")
    raise FileError(path, "no such file, and no golden case holds a copy of it")


# -- the golden store ------------------------------------------------------------------------

COPY_FOLDER = "source"
COPY_WEIGHTS = "weights.h5"
ONNX_MODEL = "model.onnx"
# The leg whose ONNX a pinned case stores, by the format a file reads to, so that a replay
# runs below the source framework.
STORED_LEG = {"keras": "keras>tf2onnx", KERAS2_START: "tf_keras>tf2onnx-keras2",
              "savedmodel": "savedmodel>tf2onnx-savedmodel"}


def _golden_copy(spec: LayerSpec, folder: Path | None) -> tuple[Path, Path | None] | None:
    if folder is None:
        from harness import golden

        folder = golden.default_root() / golden.CASES / spec.case_id
    copy = folder / COPY_FOLDER / Path(spec.attrs["path"]).name
    if not copy.exists():
        return None
    weights = folder / COPY_FOLDER / COPY_WEIGHTS
    return copy, (weights if weights.is_file() else None)


def copy_model(spec: LayerSpec, folder: Path) -> None:
    """Copies the model file (and its weights) into ``folder/source/``, so that reading the
    case again never needs the user's path."""
    target = folder / COPY_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    source = Path(spec.attrs["path"])
    if source.is_dir():
        shutil.copytree(source, target / source.name, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target / source.name)
    if spec.attrs.get("weights"):
        shutil.copy2(spec.attrs["weights"], target / COPY_WEIGHTS)


# -- kinds -----------------------------------------------------------------------------------

def _not_drawn(picker):
    raise TypeError("file cases are made from a user's file (parity check MODEL), not drawn")


for _kind in FORMATS:
    registry.register(registry.LayerKind(_kind, "file", {}, _not_drawn, source=NAME,
                                         doc=f"a user's {_kind} model file"))


# -- the source ------------------------------------------------------------------------------

class FileSource:
    name = NAME
    format = "file"  # each case's artifact has its file's own format (``start``)
    default_paths: tuple[str, ...] = ()  # see harness.check.default_paths
    kinds_module = "harness.sources.file"
    packages = ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx", "onnxruntime", "torch",
                "onnx2torch", "onnx2pytorch", "scipy", "h5py")

    def start(self, spec: LayerSpec) -> str:
        return spec.attrs.get("start") or START[spec.kind]

    def roots(self, spec: LayerSpec) -> tuple[str, ...]:
        """A Keras SavedModel is also the folder tf2onnx's ``--saved-model`` reads."""
        if spec.kind == "savedmodel" and self.start(spec) == KERAS2_START:
            return (PLAIN_SAVEDMODEL_START,)
        return ()

    def paths_from(self, start: str) -> tuple[str, ...]:
        """The paths a replay of a case that starts at ``start`` takes when none are named:
        ``parity check``'s (harness.check.DEFAULT_PATHS)."""
        from harness.check import DEFAULT_PATHS

        return DEFAULT_PATHS.get(start, ())

    def read(self, spec: LayerSpec, *, policy=None, device: str = "cpu") -> SourceReading:
        loaded = _loaded_for(spec)
        inputs = case_inputs(spec)
        readers = {"keras": _read_keras, KERAS2_START: _read_tf_keras, "onnx": _read_onnx,
                   "mat": _read_mat, PLAIN_SAVEDMODEL_START: _read_savedmodel}
        try:
            reading = readers[self.start(spec)](loaded, inputs, device)
        except FileError:
            raise
        except Exception as exc:  # noqa: BLE001  (the model refused these inputs)
            shapes = ", ".join("x".join(map(str, x.shape)) for x in inputs)
            raise FileError(loaded.path, f"the model cannot be run on inputs of shape {shapes} "
                                         f"({type(exc).__name__}: {_first_line(exc)})") from None
        # The golden store's ``store`` is handed the reading alone: it finds the case here.
        reading.artifact.meta["spec"] = spec
        return reading._replace(yardstick=float64_reading(spec, loaded, inputs,
                                                          reading.reference))

    def diagnoser(self, harness, spec, artifact: Artifact, inputs: list[np.ndarray]):
        """A Keras model layer by layer, an ONNX model node by node, as the keras and onnx
        sources diagnose their drawn cases; other formats are not diagnosed."""
        from harness import sources

        if artifact.format not in ("keras", "onnx"):
            return None
        return sources.get(artifact.format).diagnoser(harness, spec, artifact, inputs)

    def store(self, reading: SourceReading, folder: Path,
              options: ConvertOptions | None = None) -> dict[str, Any]:
        """The model file copied to ``source/``; the ONNX a replay starts from as
        ``model.onnx`` (the file itself for an ONNX file, tf2onnx's conversion for a Keras
        model or a SavedModel); a MATLAB network replays from its copy."""
        from harness.converters import get

        spec = reading.artifact.meta["spec"]
        copy_model(spec, folder)
        notes: dict[str, Any] = {"file": spec.attrs["path"], "file_sha256": spec.attrs["sha256"],
                                 "onnx_error": None}
        fmt = reading.artifact.format
        if fmt == "onnx":
            (folder / ONNX_MODEL).write_bytes(reading.artifact.model.SerializeToString())
        elif fmt in STORED_LEG:
            stage = STORED_LEG[fmt].split(">")[1]
            notes["source_leg"] = STORED_LEG[fmt]
            try:
                proto = reading.artifact.meta.get("stored_onnx") or get(stage).convert(
                    reading.artifact, options or ConvertOptions()).model
            except Exception as exc:  # noqa: BLE001  (kept without its ONNX, reason noted)
                notes["onnx_error"] = f"{type(exc).__name__}: {_first_line(exc)}"
            else:
                (folder / ONNX_MODEL).write_bytes(proto.SerializeToString())
        return notes

    def stored(self, folder: Path) -> dict[str, Artifact]:
        """What a replay starts from: the stored ONNX under the leg that made it (or under
        ``onnx`` for an ONNX file); a MATLAB network from its copy."""
        from harness.golden import GoldenError, load_onnx

        try:
            spec = LayerSpec.from_json(json.loads((folder / "spec.json").read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise GoldenError(f"{folder / 'spec.json'}: {exc}") from None
        start = self.start(spec)
        if start == "mat":
            copy = _golden_copy(spec, folder)
            if copy is None:
                return {}
            try:
                loaded = load(copy[0], None, "mat", spec.attrs["sha256"],
                              spec.attrs.get("outputs"))
            except FileError as exc:
                raise GoldenError(str(exc)) from None
            return {"mat": _mat_artifact(loaded, spec)}
        if not (folder / ONNX_MODEL).is_file():
            return {}
        model = load_onnx(folder / ONNX_MODEL)
        names = [i.name for i in model.graph.input
                 if i.name not in {init.name for init in model.graph.initializer}]
        leg = "onnx" if start == "onnx" else STORED_LEG[start]
        return {leg: Artifact("onnx", model, names)}


# -- reading, per format ---------------------------------------------------------------------

# Why a file read to this format has no float64 yardstick (harness.run.yardstick).
NO_YARDSTICK = {
    "onnx": "an ONNX file: its graph's element types are fixed in the file, and parity does "
            "not rewrite a graph to float64",
    PLAIN_SAVEDMODEL_START: "a SavedModel without Keras metadata: its functions are traced "
                            "in their dtypes, with no configuration to rebuild in float64",
    "mat": "a MATLAB network: the reference is parity's importer run in float64 already",
}


def float64_reading(spec: LayerSpec, loaded: LoadedModel, inputs: list[np.ndarray],
                    reference: list[np.ndarray]) -> list[np.ndarray] | None:
    """The file's model recomputed in float64 by the framework that is its reference (a
    Keras 3 file by Keras 3, a Keras-2 file by tf_keras), where that can be done; else None,
    and ``yardstick.missing_reason(spec)`` says why."""
    from harness.run import yardstick

    if loaded.start not in KERAS_STARTS:
        yardstick.note_missing(spec, NO_YARDSTICK[loaded.start])
        return None
    if loaded.legacy is not None:
        return yardstick.tf_keras_model_reading(spec, loaded.legacy, inputs, reference)
    return yardstick.keras_model_reading(spec, loaded.model, inputs, reference)


def _read_keras(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    from harness.sources.keras.model import run_keras

    reference = run_keras(loaded.model, inputs)
    names = [f"input_{i}" for i in range(len(inputs))]
    artifact = Artifact("keras", loaded.model, names, {"file": str(loaded.path)})
    return SourceReading(artifact, inputs, reference, None, None)


def _read_tf_keras(loaded: LoadedModel, inputs: list[np.ndarray],
                   device: str) -> SourceReading:
    """A Keras-2 file: tf_keras calls the model it read (the reference); a Keras SavedModel's
    folder is a second root, as ``tf2onnx --saved-model`` reads it."""
    from harness.converters.keras2 import run_tf_keras
    from harness.converters.saved_formats import SavedFiles

    reference = run_tf_keras(loaded.legacy, inputs)
    names = [f"input_{i}" for i in range(len(inputs))]
    artifact = Artifact(KERAS2_START, loaded.legacy, names, {"file": str(loaded.path)})
    roots = ()
    if loaded.kind == "savedmodel":
        roots = ((PLAIN_SAVEDMODEL_START,
                  Artifact(PLAIN_SAVEDMODEL_START, SavedFiles(loaded.path),
                           list(loaded.input_names),
                           {"file": str(loaded.path),
                            # the reference's order, by the signature's output keys
                            "output_names": list(loaded.legacy.output_names)})),)
    return SourceReading(artifact, inputs, reference, None, None, roots=roots)


def _read_savedmodel(loaded: LoadedModel, inputs: list[np.ndarray],
                     device: str) -> SourceReading:
    from harness.converters.saved_formats import SavedFiles, run_savedmodel

    reference = run_savedmodel(loaded.model, inputs)
    artifact = Artifact("savedmodel", SavedFiles(loaded.path), list(loaded.input_names),
                        {"file": str(loaded.path)})
    return SourceReading(artifact, inputs, reference, None, None)


ONNX_REFUSED_HINT = {
    "consumed_inputs": "attributes of opset 6 and older (consumed_inputs) that onnxruntime "
                       "no longer accepts: re-export the model with opset 7 or newer, or "
                       "upgrade it with onnx.version_converter",
    "broadcast": "attributes of opset 6 and older (broadcast) that onnxruntime no longer "
                 "accepts: re-export the model with opset 7 or newer, or upgrade it with "
                 "onnx.version_converter",
}


def _read_onnx(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    from harness.run.runners import LoadError, OnnxRuntimeRunner

    artifact = Artifact("onnx", loaded.model, list(loaded.input_names),
                        {"file": str(loaded.path)})
    reference_artifact = Artifact("onnx", loaded.model, list(loaded.input_names),
                                  {"ort_optimization": "disable"})
    try:
        reference = OnnxRuntimeRunner(device).run(reference_artifact, inputs)
    except LoadError as exc:
        text = str(exc)
        hint = next((why for word, why in ONNX_REFUSED_HINT.items() if word in text), None)
        raise UnsupportedFile(loaded.path, "onnxruntime refuses the model: "
                              + (hint or text.split("cannot load the model: ", 1)[-1][:400])
                              ) from None
    return SourceReading(artifact, inputs, reference, None, None)


MAT_READING = "the importer in float64"


def _mat_artifact(loaded: LoadedModel, spec: LayerSpec) -> Artifact:
    return Artifact("mat", loaded.model, list(loaded.input_names),
                    {"file": str(loaded.path), "spec": spec})


def _read_mat(loaded: LoadedModel, inputs: list[np.ndarray], device: str) -> SourceReading:
    import torch

    from harness.mat import MatImportError, to_torch

    try:
        module = to_torch(loaded.model, check=False)
    except MatImportError as exc:
        raise UnsupportedFile(loaded.path, str(exc).removeprefix(f"{loaded.path}: ")) from None
    module = module.double().eval()
    with torch.inference_mode():
        outputs = module(*[torch.from_numpy(np.asarray(x, dtype=np.float64)) for x in inputs])
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    reference = [o.numpy().astype(np.float32) for o in outputs]
    artifact = Artifact("mat", loaded.model, list(loaded.input_names), {"file": str(loaded.path)})
    return SourceReading(artifact, inputs, reference, None, None)
