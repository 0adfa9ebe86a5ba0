"""The side paths of a golden case: the ONNX rewriters and Keras → TFLite (docs/rewriters.md)
as the replay runs them without TensorFlow.

A case holds side paths where it was recorded with them (``parity golden update
--side-paths``; the minimal specs of the known issues about those stages always are). Its
``side_paths.json`` lists the paths, and for each leg whose artifact the replay cannot make
without TensorFlow (a ``tflite`` flatbuffer) the file that holds it, its input names and its
``meta`` (whatever its stage records there, as JSON that keeps tuples apart), or why the stage
refused the case when it was recorded::

    {"schema": "parity.golden.side/1",
     "paths": ["keras>tflite", "keras>savedmodel>tflite-savedmodel"],
     "legs": {"keras>tflite": {"file": "side/keras_tflite.tflite", "format": "tflite",
                               "input_names": [...], "meta": {...}},
              "keras>savedmodel>tflite-savedmodel": {"error": "TfliteError: ..."}},
     "versions": {"tensorflow": "2.21.0", ...}}

The replay goes down every listed path from what the case holds: a rewriter leg converts the
stored ONNX model again (onnxsim, onnxslim and onnxoptimizer need no TensorFlow), a TFLite
leg runs its stored flatbuffer with LiteRT. A leg refused when recorded has nothing to replay.
A case without the file replays as before.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from harness.converters import Artifact, ConversionPath, get
from harness.core.errors import GoldenError
from harness.core.frameworks import versions
from harness.run import side_paths
from harness.run.stage_cache.readings import meta_document, meta_from

FILE = "side_paths.json"
SCHEMA = "parity.golden.side/1"
FOLDER = "side"
# Formats whose artifacts a case stores, by their bytes, with the suffix of their file; the
# replay makes every other leg again from its parent.
STORED = {"tflite": ".tflite"}
TFLITE_IDENTIFIER = b"TFL3"  # a flatbuffer's file identifier, at bytes 4 to 8
# The packages whose versions made a side leg's stored artifact.
PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "onnxsim", "onnxslim", "onnxoptimizer",
            "onnx", "onnxruntime")


def leg_file(leg: str) -> str:
    """Where a leg's stored artifact lives in its case folder."""
    fmt = get(leg.rsplit(">", 1)[1]).target
    return f"{FOLDER}/{leg.replace('>', '_')}{STORED[fmt]}"


def paths_of(source: str, chosen) -> list[str]:
    """The paths among ``chosen`` that start from the case's source."""
    return [path for path in chosen if path.split(">", 1)[0] == source]


def record(folder: Path, artifact: Artifact, paths: list[str], options) -> dict[str, Any] | None:
    """Writes ``side_paths.json`` and the stored artifacts of ``paths`` (each starting from
    the case's source artifact ``artifact``) into the case folder; returns the document
    (None, and nothing written, without paths). A stage that refuses the case is kept as
    its error; every other case's recording goes on."""
    if not paths:
        return None
    made: dict[str, Any] = {}
    legs: dict[str, dict[str, Any]] = {}
    for text in paths:
        path = ConversionPath.parse(text)
        stages = list(path.stages)
        last = max((i for i, stage in enumerate(stages) if get(stage).target in STORED),
                   default=-1)
        parent: Any = artifact
        for leg, stage in zip(path.legs()[: last + 1], stages):
            if leg not in made:
                try:
                    made[leg] = get(stage).convert(parent, options)
                except Exception as exc:  # noqa: BLE001 (the case is kept without it)
                    made[leg] = exc
            parent = made[leg]
            if isinstance(parent, Exception):
                legs.setdefault(leg, {"error": _one_line(parent)})
                break
            if get(stage).target in STORED:
                legs[leg] = _write(folder, leg, parent)
    document = {"schema": SCHEMA, "paths": list(paths), "legs": legs,
                "versions": _versions()}
    (folder / FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n",
                               encoding="utf-8")
    return document


def _write(folder: Path, leg: str, artifact: Artifact) -> dict[str, Any]:
    model = artifact.model
    if not isinstance(model, (bytes, bytearray)) or bytes(model[4:8]) != TFLITE_IDENTIFIER:
        return {"error": f"{leg} made a {artifact.format} artifact that is not a flatbuffer"}
    name = leg_file(leg)
    (folder / name).parent.mkdir(exist_ok=True)
    (folder / name).write_bytes(bytes(model))
    return {"file": name, "format": artifact.format,
            "input_names": list(artifact.input_names), "meta": meta_document(artifact.meta)}


def _one_line(exc: BaseException) -> str:
    name = getattr(exc, "type_name", None) or type(exc).__name__  # a stage cache's KeptFailure
    text = f"{name}: {exc}"
    return text.splitlines()[0][:500]


def _versions() -> dict[str, str]:
    installed = versions()
    return {p: installed[p] for p in PACKAGES if p in installed}


def load(folder: Path, listed) -> tuple[list[str], dict[str, Artifact]]:
    """(the paths a case holds, the stored artifacts by leg) from its ``side_paths.json``;
    ([], {}) for a case whose manifest entry (``listed``: its files) does not list one. A file
    that does not parse, names a file the manifest does not list, or holds no flatbuffer
    raises ``GoldenError`` naming it."""
    path = folder / FILE
    if FILE not in listed:
        return [], {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        paths = [str(ConversionPath.parse(text).name) for text in document["paths"]]
        artifacts = {}
        for leg, entry in document["legs"].items():
            if "file" not in entry:
                continue  # refused when recorded: nothing to replay
            if entry["file"] not in listed:
                raise ValueError(f"{entry['file']} is not in the manifest")
            data = (folder / entry["file"]).read_bytes()
            if data[4:8] != TFLITE_IDENTIFIER:
                raise ValueError(f"{entry['file']} is not a TFLite flatbuffer")
            meta = meta_from(entry["meta"])
            if not isinstance(meta, dict):
                raise ValueError(f"the metadata of {leg} is not a mapping")
            artifacts[leg] = Artifact(entry["format"], data, list(entry["input_names"]), meta)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GoldenError(f"{path}: cannot read the case's side paths: "
                          f"{type(exc).__name__}: {exc}") from None
    return paths, artifacts


def with_paths(harness, paths: list[str]):
    """``harness`` with ``paths`` beside its own for one case (a shallow copy; the harness
    itself is left as it is)."""
    if not paths:
        return harness
    extended = copy.copy(harness)
    extended.extension = side_paths.combine(harness.extension,
                                            side_paths.SidePaths(tuple(paths)))
    return extended
