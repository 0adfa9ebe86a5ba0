"""The detector: recognises a file's format from its content (zip members, the HDF5
signature and its attributes, the MATLAB header, an ONNX protobuf), not from its suffix, and
hands the file to that format's loader.

A format is a module with ``FORMAT`` (its name, a case's kind), ``START`` (the artifact
format it reads to), ``recognises(path, head, weights)`` (True where the file is this format;
a FileError where it nearly is but cannot be read as it) and ``load(path, weights, outputs)``
(a LoadedModel). Adding a format is its module and one line in ``DETECTED``; a plugin module
adds its own with ``add_format``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from harness.core import registry
from harness.sources.file import h5, keras, keras_json, mat, onnx, savedmodel, tflite
from harness.sources.file.errors import FileError, UnsupportedFile
from harness.sources.file.fingerprint import digest
from harness.sources.file.head import read_head
from harness.sources.file.loaded import LoadedModel
from harness.sources.file.safety import check_size

NAME = "file"  # the source

# In the order the detector asks them: the first that recognises a file reads it.
DETECTED: list[ModuleType] = [
    savedmodel,  # a folder
    mat,  # the MATLAB header, before the HDF5 formats (a -v7.3 file is HDF5 behind it)
    keras,  # a zip
    h5,  # the HDF5 signature
    keras_json,  # a JSON object
    tflite,  # a flatbuffer whose identifier is TFL3
    onnx,  # a protobuf: parsed whole, so last
]
FORMATS = tuple(module.FORMAT for module in DETECTED)  # parity's own
BY_FORMAT: dict[str, ModuleType] = {}
# The artifact format each file format is read to: the first element of its paths.
START: dict[str, str] = {}


def _not_drawn(picker):
    raise TypeError("file cases are made from a user's file (parity check MODEL), not drawn")


def _admit(module: ModuleType) -> None:
    """The format's loader and start by its name, and its kind (a case's) in the registry."""
    BY_FORMAT[module.FORMAT] = module
    START[module.FORMAT] = module.START
    registry.register(registry.LayerKind(module.FORMAT, "file", {}, _not_drawn, source=NAME,
                                         doc=f"a user's {module.FORMAT} model file"))


for _module in DETECTED:
    _admit(_module)


def add_format(module: ModuleType, *, before: str = onnx.FORMAT) -> None:
    """A format a plugin module brings (``parity check --plugins MODULE``), asked before
    ``before``: ONNX, which parses a whole file, stays last. A format in the tree is a line
    in ``DETECTED`` instead."""
    if module.FORMAT in BY_FORMAT:
        raise ValueError(f"file format {module.FORMAT!r} is already known")
    DETECTED.insert(DETECTED.index(BY_FORMAT[before]), module)
    _admit(module)

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json", ".onnx", ".mat", ".pb", ".tflite")
PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def detect(path: str | Path, weights: str | Path | None = None) -> str:
    """The format of ``path`` (one of FORMATS), from its content; FileError when it is none
    of them, or when it is a part of a model (weights alone) rather than a model."""
    path = Path(path)
    if not path.exists():
        raise FileError(path, "no such file or folder")
    head = None if path.is_dir() else read_head(path)
    if head == b"":
        raise FileError(path, "the file is empty")
    if head is not None and head[:2] in PICKLE_PROTOCOLS:  # no format starts so
        raise UnsupportedFile(path, "a Python pickle; parity never unpickles a file")
    weights = None if weights is None else Path(weights)
    for module in DETECTED:
        if module.recognises(path, head, weights):
            return module.FORMAT
    suffix = path.suffix.lower()
    raise FileError(path, (f"not a readable {suffix} file: its content does not parse as "
                           f"one (truncated or damaged?)") if suffix in MODEL_SUFFIXES else
                    "not a model file parity recognises (.keras, Keras-2 .h5, architecture "
                    ".json, SavedModel folder, .onnx, .tflite, .mat)")


OUTPUTS_ELSEWHERE = ("--output picks the outputs of a MATLAB .mat network, and this file is "
                     "{kind!r}: save a model whose outputs are the ones to check (of an ONNX "
                     "model: onnx.utils.extract_model(IN, OUT, input_names, output_names)) "
                     "and check that file")

_CACHE: dict[tuple, LoadedModel] = {}


def takes_weights(kind: str) -> bool:
    """Whether a format reads its weights from a second file (``parity check --weights``):
    its module says so (``TAKES_WEIGHTS``)."""
    return bool(getattr(BY_FORMAT.get(kind), "TAKES_WEIGHTS", False))


def picks_outputs(kind: str) -> bool:
    """Whether a format lets the user name the outputs to check (``parity check --output``):
    its module says so (``PICKS_OUTPUTS``)."""
    return bool(getattr(BY_FORMAT.get(kind), "PICKS_OUTPUTS", False))


def picks_signature(kind: str) -> bool:
    """Whether a format reads by a named signature (``parity check --signature``): its
    module says so (``PICKS_SIGNATURE``)."""
    return bool(getattr(BY_FORMAT.get(kind), "PICKS_SIGNATURE", False))


def load(path: str | Path, weights: str | Path | None = None, kind: str | None = None,
         sha256: str | None = None, outputs: list[str] | None = None,
         signature: str | None = None) -> LoadedModel:
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
           tuple(outputs or ()), signature)
    if key in _CACHE:
        return _CACHE[key]
    module = BY_FORMAT[kind]
    if outputs and not picks_outputs(kind):
        raise FileError(path, OUTPUTS_ELSEWHERE.format(kind=kind))
    if signature is not None and not picks_signature(kind):
        raise FileError(path, f"--signature picks a SavedModel's signature, and this file is "
                              f"{kind!r}")
    loaded = module.load(path, weights, outputs, **(
        {"signature": signature} if signature is not None else {}))
    _CACHE.clear()
    _CACHE[key] = loaded
    return loaded
