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

A package's fingerprint is its version, unless its installed files are not its wheel's:

- installed from a working tree (``direct_url.json`` says ``"editable": true``): a hash of
  the contents of the tree's ``.py`` files and of the sizes and modification times of its
  compiled extensions (``.so``, ``.pyd``);
- modified after installing (a code file listed in ``RECORD``, ``.py`` or a compiled
  extension, with another size than ``RECORD`` says, missing, or modified later than
  ``RECORD`` itself was written): the version and a hash of those files' sizes and
  modification times.

The check stats each listed code file (never hashes them; tensorflow lists 20,000 files, of
which 2,000 are code) once per process. ``PARITY_CACHE_VERSION_OVERRIDE="onnx2torch=9.9,tf2onnx=1.0"`` replaces packages'
fingerprints, which is how a benchmark or a test simulates a new release.
"""

from __future__ import annotations

import csv
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
from urllib.parse import unquote, urlparse

import numpy as np

import harness
from harness.core.spec import canonical_json

OVERRIDE_ENV = "PARITY_CACHE_VERSION_OVERRIDE"
# Bumped when what an entry holds, or how a key is made, changes.
FORMAT = 1
# Environment a framework reads when it computes (not when it converts).
READING_ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                       "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES")
ALWAYS = ("numpy",)
SOURCE_SUFFIXES = (".py",)
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
# Folders of a working tree that hold no code the package imports.
SKIPPED_FOLDERS = {"__pycache__", "build", "dist", "node_modules"}
# Slack for file systems that store modification times coarsely.
MTIME_SLACK_S = 2.0


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
    names = dict.fromkeys((*ALWAYS, *packages))
    return {name: package_fingerprint(name) for name in names}


@functools.cache
def _installed_fingerprint(name: str) -> str:
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"
    tree = editable_tree(dist)
    if tree is not None:
        return f"{dist.version}+tree:{tree_hash(tree)}"
    changed = modified_files_hash(dist)
    return dist.version if changed is None else f"{dist.version}+modified:{changed}"


def editable_tree(dist) -> Path | None:
    """The working tree an editable install points at, or None."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct, dict) or not (direct.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(direct.get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


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


def modified_files_hash(dist) -> str | None:
    """None when every file ``RECORD`` lists has its recorded size and is no newer than
    ``RECORD``; else a hash of every listed file's size and modification time."""
    rows = list(csv.reader((dist.read_text("RECORD") or "").splitlines()))
    record = next((row[0] for row in rows if row and row[0].endswith(".dist-info/RECORD")),
                  None)
    if record is None or not Path(dist.locate_file(record)).is_file():
        return None
    written = Path(dist.locate_file(record)).stat().st_mtime + MTIME_SLACK_S
    listed = []
    modified = False
    for row in rows:
        if len(row) < 3 or not row[2].isdigit():
            continue  # compiled files and RECORD itself carry no size
        path, size = row[0], int(row[2])
        if not _is_code(path):
            continue  # headers, data: not what the package runs
        try:
            stat = os.stat(dist.locate_file(path))
        except OSError:
            modified = True
            listed.append(f"{path}\0missing")
            continue
        modified = modified or stat.st_size != size or stat.st_mtime > written
        listed.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    if not modified:
        return None
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()[:16]


def _is_code(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(SOURCE_SUFFIXES + COMPILED_SUFFIXES) or ".so." in name


@functools.cache
def harness_fingerprint() -> str:
    """The harness' own Python files (sources, stages, strategies)."""
    return tree_hash(Path(harness.__file__).parent)


@functools.cache
def machine() -> dict[str, str]:
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = [platform.processor()]
    cpu = "".join(next((line for line in lines if line.startswith(field)), "")
                  for field in ("model name", "flags"))
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "system": platform.system(), "machine": platform.machine(),
            "cpu": hashlib.sha256(cpu.encode()).hexdigest()[:16]}


def code_fingerprint(obj: Any) -> dict[str, Any]:
    """What the code of a converter or source object is: its class, the contents of the file
    that defines it and its instance attributes (a repr that holds an address never
    repeats, so such an object never hits)."""
    cls = type(obj)
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    contents = _file_hash(file) if file else None
    state = {k: repr(v) for k, v in sorted(vars(obj).items())} if hasattr(obj, "__dict__") else {}
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "file": contents, "state": state}


@functools.cache
def _file_hash(file: str) -> str | None:
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
    return digest({**common(), "kind": "stage", "stage": converter.name,
                   "input": input_identity, "options": options_document(options),
                   "packages": fingerprints(getattr(converter, "packages", ())),
                   "code": code_fingerprint(converter)})


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
RUN_PACKAGES = {"onnxruntime": ("onnxruntime", "onnxruntime-gpu"), "torch": ("torch",),
                "keras-torch": ("keras", "torch")}


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
                   "environment": {k: os.environ.get(k) for k in READING_ENVIRONMENT}})


def thread_counts(runner_name: str) -> dict[str, Any]:
    """What decides how a runtime splits its work: the CPUs (onnxruntime's default), and for
    torch's runner, torch's thread count in this process (a pytest-xdist worker sets it to
    1); the keras-torch worker's count is its runner's ``threads``."""
    counts: dict[str, Any] = {"cpus": os.cpu_count()}
    if runner_name == "torch":
        import torch

        counts["torch"] = torch.get_num_threads()
    return counts


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
