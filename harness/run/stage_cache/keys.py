"""What decides a stage's output or a source's reading, as one key.

A key is the SHA-256 of a JSON document naming everything that decides the output:

- for a stage: its name, the identity of its input artifact, its options, the fingerprint of
  every package it declares (``converter.packages``) and of the code that defines it;
- for a source's artifact: the source's name, the spec's canonical JSON and the fingerprints
  of the source's packages; for its reading, that and the device, the tolerance the source
  reads with and the environment that changes what a framework computes (oneDNN, threads).

Every key also holds numpy's fingerprint, the harness' own code (a change to it may change
any artifact), Python's version and the machine (a reading on another CPU may round
differently). An artifact's identity is a hash of its content where it has an exact
serialisation (an ONNX model's bytes), else the key of the stage or source that made it.

A package's fingerprint is its version and a hash of the code this process imports for it
(``harness.run.stage_cache.packages``): the files under each location its import names are
imported from, by ``RECORD``'s SHA-256 where the file is as installed, else by their
content's. An edited editable install, ``pip install .`` of a changed tree at the same
version, a checkout on ``PYTHONPATH`` or in ``sys.path``, a changed compiled extension: each
misses. ``PARITY_CACHE_VERSION_OVERRIDE="onnx2torch=9.9,tf2onnx=1.0"`` replaces packages'
fingerprints, which is how a benchmark or a test simulates a new release.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

import harness
from harness.core.frameworks import TRACKED_PACKAGES
from harness.core.machine import cpuinfo_line
from harness.core.spec import canonical_json
from harness.run.stage_cache.packages import (
    COMPILED_SUFFIXES,
    SOURCE_SUFFIXES,
    installed_fingerprint,
)
from harness.run.stage_cache.packages import editable_tree as editable_tree  # re-exported
from harness.run.stage_cache.packages import modified_files_hash as modified_files_hash
from harness.runtimes import device as device_context

OVERRIDE_ENV = "PARITY_CACHE_VERSION_OVERRIDE"
# Bumped when what an entry holds, or how a key is made, changes.
FORMAT = 4
# Environment a framework reads when it computes (not when it converts).
READING_ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                       "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES", "KERAS_BACKEND")
ALWAYS = ("numpy",)
# The frameworks whose code a converter may run without declaring them (onnx2torch runs
# onnx's, tensorflow keras'): a declared package's requirements among these are in its key.
# Only these: what else they require (CUDA's libraries, sympy) costs a process seconds to
# fingerprint and converts nothing.
STACK = frozenset(TRACKED_PACKAGES) | {"onnx-ir", "tf-keras", "ai-edge-litert", "onnxsim",
                                       "onnxslim", "onnxoptimizer", "protobuf", "ml-dtypes"}
# Folders of a working tree that hold no code the package imports.
SKIPPED_FOLDERS = {"__pycache__", "build", "dist", "node_modules"}


def digest(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def overrides() -> dict[str, str]:
    """``PARITY_CACHE_VERSION_OVERRIDE``, read on every key (tests set it)."""
    found = {}
    for item in os.environ.get(OVERRIDE_ENV, "").split(","):
        name, sep, version = item.partition("=")
        if sep and name.strip():
            found[_normal(name)] = version.strip()
    return found


def package_fingerprint(name: str) -> str:
    override = overrides().get(_normal(name))
    if override is not None:
        return f"override:{override}"
    return _installed_fingerprint(_normal(name))


def fingerprints(packages) -> dict[str, str]:
    """numpy's, each package's, and those of the frameworks each requires (``STACK``): a
    stage that declares onnx2torch runs onnx's code too, and one that declares onnxscript
    runs onnx_ir's."""
    overridden = overrides()
    return {name: f"override:{overridden[name]}" if name in overridden
            else _installed_fingerprint(name) for name in _with_requirements(tuple(packages))}


@functools.cache
def _with_requirements(packages: tuple[str, ...]) -> tuple[str, ...]:
    """``ALWAYS``, ``packages`` and their ``STACK`` requirements, by their normal names (every
    key asks, up to four times a leg)."""
    names = dict.fromkeys((*map(_normal, ALWAYS), *map(_normal, packages)))
    for name in list(names):
        names.update(dict.fromkeys(stack_requirements(name)))
    return tuple(names)


@functools.cache
def stack_requirements(name: str) -> tuple[str, ...]:
    """The ``STACK`` frameworks an installed distribution requires (its ``Requires-Dist``,
    extras left out, markers read for this interpreter), one level down."""
    try:
        required = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    from packaging.requirements import InvalidRequirement, Requirement  # pytest's dependency

    found = []
    for text in required:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if _normal(requirement.name) in STACK and (
                requirement.marker is None or requirement.marker.evaluate({"extra": ""})):
            found.append(_normal(requirement.name))
    return tuple(dict.fromkeys(found))


# Once per process (tests forget it with ``cache_clear``, as a new process would).
_installed_fingerprint = installed_fingerprint


def tree_hash(root: Path) -> str:
    """The contents of a working tree's Python files, the sizes and times of its compiled
    extensions; hidden folders, virtual environments and build outputs left out."""
    hasher = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders
            if not d.startswith(".") and d not in SKIPPED_FOLDERS and not d.endswith(".egg-info")
            and not (Path(folder, d) / "pyvenv.cfg").exists())
        for file in sorted(files):
            path = Path(folder, file)
            relative = path.relative_to(root).as_posix()
            if file.endswith(SOURCE_SUFFIXES):
                hasher.update(f"{relative}\0".encode() + path.read_bytes() + b"\0")
            elif file.endswith(COMPILED_SUFFIXES):
                stat = path.stat()
                hasher.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return hasher.hexdigest()[:16]


@functools.cache
def harness_fingerprint() -> str:
    """The harness' own Python files (sources, stages, strategies)."""
    return tree_hash(Path(harness.__file__).parent)


@functools.cache
def machine() -> dict[str, str]:
    cpu = cpuinfo_line("model name") + cpuinfo_line("flags") or platform.processor()
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "system": platform.system(), "machine": platform.machine(),
            "cpu": hashlib.sha256(cpu.encode()).hexdigest()[:16]}


def code_fingerprint(obj: Any) -> dict[str, Any]:
    """What the code of a converter or source object is: its class, the contents of the file
    that defines it and its instance attributes (a repr that holds an address never
    repeats, so such an object never hits)."""
    cls = type(obj)
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    contents = file_hash(file) if file else None
    state = {k: repr(v) for k, v in sorted(vars(obj).items())} if hasattr(obj, "__dict__") else {}
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "file": contents, "state": state}


@functools.cache
def file_hash(file: str) -> str | None:
    """The hash of a file's bytes, read once a process; None where it cannot be read."""
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def options_document(options) -> dict[str, Any]:
    """A stage's options, less where it may write scratch files; arrays (a tracing stage's
    example inputs) by their dtype, shape and bytes' hash."""
    fields = ({f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
              if dataclasses.is_dataclass(options) else vars(options))
    return {k: _plain_option(v) for k, v in fields.items() if k != "workdir"}


def _plain_option(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    if isinstance(value, (list, tuple)):
        return [_plain_option(v) for v in value]
    return value


def common() -> dict[str, Any]:
    return {"format": FORMAT, "harness": harness_fingerprint(), "machine": machine()}


def stage_key(converter, input_identity: str, options) -> str:
    """A stage that runs code this process does not import (onnx2tf, from a folder of its own)
    says what it runs with its ``fingerprint()``, which the key holds beside its packages';
    one whose converter reads environment variables names them (``environment``), and the
    key holds their values."""
    own = getattr(converter, "fingerprint", None)
    read = getattr(converter, "environment", ())
    return digest({**common(), "kind": "stage", "stage": converter.name,
                   "input": input_identity, "options": options_document(options),
                   "packages": fingerprints(getattr(converter, "packages", ())),
                   "code": code_fingerprint(converter),
                   **({"runs": own()} if callable(own) else {}),
                   **({"environment": {k: os.environ.get(k) for k in read}} if read else {})})


def computed_key(what: str, document: Any, packages, code) -> str:
    """The key of a test's own computation (``StageCache.computed``): its name, the document
    of everything it is computed from (arrays by their content), the fingerprints of the
    packages that compute it, the contents of the files whose code does besides the
    harness', and what decides how a framework computes (the environment, the CPUs, torch's
    thread count where torch computes it)."""
    packages = tuple(packages)
    threads = thread_counts("torch" if "torch" in map(_normal, packages) else "")
    return digest({**common(), "kind": "computed", "what": what,
                   "document": plain_document(document),
                   "packages": fingerprints(packages),
                   "code": [file_hash(os.fspath(file)) for file in code],
                   "threads": threads,
                   "environment": {k: os.environ.get(k) for k in READING_ENVIRONMENT}})


def plain_document(value: Any) -> Any:
    """A document as JSON holds it: arrays by their dtype, shape and content's hash, tuples
    as lists, mappings by their keys as text; TypeError for anything else that is not JSON
    (an object's text may hold its address, which never repeats)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return array_document(value)
    if isinstance(value, dict):
        return {str(k): plain_document(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_document(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"a {type(value).__name__} in a computation's document, which has no key")


def source_key(source, spec) -> str:
    """The identity of the artifact a source builds from a spec."""
    return digest({**common(), "kind": "source", "source": source.name,
                   "spec": canonical_json(spec.to_json()),
                   "packages": fingerprints(reading_packages(source)),
                   "code": code_fingerprint(source)})


def reading_key(source, spec, policy, device: str) -> str:
    tolerance = policy.for_spec(spec, source.name, device) if policy is not None else None
    return digest({"kind": "reading", "artifact": source_key(source, spec), "device": device,
                   "tolerance": repr(tolerance),
                   "environment": {k: os.environ.get(k) for k in READING_ENVIRONMENT}})


def reading_packages(source) -> tuple[str, ...]:
    """The packages a source's reading depends on: its ``reading_packages`` where it names
    them (the Keras source's ``packages`` also list the tf2onnx its golden cases store), else
    its ``packages``."""
    return tuple(getattr(source, "reading_packages", None) or getattr(source, "packages", ()))


# Runners whose run of an artifact is kept (``run_key``), with the packages that compute it:
# they change nothing in the artifact they run, and compute the same outputs from the same
# model and inputs on the same machine and thread counts.
# TensorFlow's runs of a SavedModel (``savedmodel``; onnx2tf's signature, ``tensorflow``) are
# kept so that a hit converts nothing: a SavedModel is a folder, not stored, and making it
# again is the leg's cost. Keras' runs of a model a stage made (``keras``: a .keras or .h5
# file read back; ``tf_keras``: the Keras-2 twin) likewise: a hit builds no model, so a warm
# run whose every Keras stage hits imports no TensorFlow. LiteRT's are not: a flatbuffer is
# stored and runs in milliseconds.
RUN_PACKAGES = {"onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "torch": ("torch",),
                "torch-by-name": ("torch",),
                "keras-torch": ("keras", "torch"), "savedmodel": ("tensorflow",),
                "tensorflow": ("tensorflow",), "keras": ("keras", "tensorflow"),
                "tf_keras": ("tf-keras", "tensorflow")}


def run_key(runner, input_identity: str, inputs) -> str | None:
    """The key of a runner's outputs for an artifact (by its identity) and inputs; None for a
    runner whose runs are not kept."""
    packages = RUN_PACKAGES.get(getattr(runner, "name", None))
    if packages is None:
        return None
    return digest({**common(), "kind": "run", "runner": code_fingerprint(runner),
                   "packages": fingerprints(packages), "artifact": input_identity,
                   "inputs": [array_document(x) for x in inputs],
                   "threads": thread_counts(runner.name),
                   "environment": {k: os.environ.get(k) for k in READING_ENVIRONMENT},
                   **device_of(runner)})


def diagnosis_key(converter, input_identity: str, inputs, reference, tolerance) -> str:
    """The key of a stage's own diagnosis of a failing leg (``converter.diagnose``): what
    the stage's key holds but options (a diagnosis takes none), and the inputs, reference and
    tolerance it judges with, and what decides onnxruntime's runs, which it judges by.
    Raises TypeError for outputs without a key (sequences, maps)."""
    own = getattr(converter, "fingerprint", None)
    runs = RUN_PACKAGES["onnxruntime"]
    return digest({**common(), "kind": "diagnosis", "stage": converter.name,
                   "input": input_identity,
                   "packages": fingerprints((*getattr(converter, "packages", ()), *runs)),
                   "code": code_fingerprint(converter),
                   **({"runs": own()} if callable(own) else {}),
                   "inputs": [array_document(x) for x in inputs],
                   "reference": [array_document(y) for y in reference],
                   "tolerance": repr(tolerance), "threads": thread_counts("onnxruntime"),
                   "environment": {k: os.environ.get(k) for k in READING_ENVIRONMENT}})


def device_of(runner) -> dict[str, Any]:
    """A runner's device off the CPU, and the precision it runs at there: a CUDA run is
    never served a CPU run's outputs, nor a TF32 run a strict one's (the CPU's keys carry
    nothing, as before devices were keyed)."""
    device = getattr(runner, "device", "cpu")
    if device == "cpu":
        return {}
    return {"device": device, "precision": device_context.precision()}


def thread_counts(runner_name: str) -> dict[str, Any]:
    """What decides how a runtime splits its work: the CPUs (onnxruntime's default), and for
    torch's runner, torch's thread count in this process (a pytest-xdist worker sets it to
    1); the keras-torch worker's count is its runner's ``threads``."""
    counts: dict[str, Any] = {"cpus": _cpus()}
    if runner_name == "torch":
        import torch

        counts["torch"] = torch.get_num_threads()
    return counts


@functools.cache
def _cpus() -> int | None:
    """The machine's CPUs, once a process (every run key asks)."""
    return os.cpu_count()


def array_document(value) -> dict[str, Any]:
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise TypeError("an array of objects has no key")
    return {"dtype": [array.dtype.str, str(array.dtype)], "shape": list(array.shape),
            "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()}


def content_identity(blob_hash: str, artifact) -> str:
    return digest({"blob": blob_hash, "format": artifact.format,
                   "input_names": list(artifact.input_names), "meta": artifact.meta})


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "-")
