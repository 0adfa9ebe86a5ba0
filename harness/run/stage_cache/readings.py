"""A source's reading as data: its arrays in one blob (``arrays.pack``: raw bytes under a JSON
index, no pickle), the rest in JSON.

What a ``SourceReading`` holds besides arrays is its second reading's wording (a string),
which optional parts it has (``native``, ``yardstick``, each further size's float64 reference
and second reading) and its artifact's format, input names and metadata. The artifact itself
is stored where it has an exact serialisation (an ONNX model, as a blob); otherwise (a Keras
model) the reading is rebuilt with a ``LazyArtifact`` that builds it on first use.

A run's outputs are kept the same way (``output_arrays``), and the metadata of an artifact
that is not stored with it in JSON that keeps tuples apart (``meta_document``).

A reading holding anything else (an array of objects, a dtype NumPy cannot write and read
back as itself, such as ml_dtypes' bfloat16) is not stored: ``Uncacheable``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from harness.run.stage_cache.arrays import pack, unpack
from harness.sources import SourceReading


class Uncacheable(ValueError):
    """Part of a reading has no exact serialisation."""


def reading_arrays(reading: SourceReading) -> tuple[dict[str, Any], bytes]:
    """(the reading's shape as JSON, its arrays as one blob)."""
    document, arrays = reading_parts(reading)
    return document, pack(arrays)


def reading_parts(reading: SourceReading) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the reading's shape as JSON, its arrays by name)."""
    arrays: dict[str, np.ndarray] = {}

    def put(prefix: str, values) -> int | None:
        if values is None:
            return None
        for i, value in enumerate(values):
            arrays[f"{prefix}.{i}"] = plain_array(value, f"{prefix}.{i}")
        return len(values)

    document = {
        "inputs": put("inputs", reading.inputs),
        "reference": put("reference", reading.reference),
        "native": put("native", reading.native),
        "yardstick": put("yardstick", reading.yardstick),
        "reading": reading.reading,
        "more": [],
    }
    for k, entry in enumerate(reading.more):
        if not 3 <= len(entry) <= 5:
            raise Uncacheable(f"a further size with {len(entry)} parts")
        document["more"].append({
            "shapes": [[int(d) for d in shape] for shape in entry[0]],
            "inputs": put(f"more.{k}.inputs", entry[1]),
            "reference": put(f"more.{k}.reference", entry[2]),
            "yardstick": put(f"more.{k}.yardstick", entry[3]) if len(entry) > 3 else None,
            "alternate": put(f"more.{k}.alternate", entry[4]) if len(entry) > 4 else None,
            "length": len(entry),
        })
    if not isinstance(document["reading"], (str, type(None))):
        raise Uncacheable("a reading description that is not a string")
    return document, arrays


def reading_from(document: dict[str, Any], data: bytes, artifact) -> SourceReading:
    """The reading ``reading_arrays`` wrote, with ``artifact`` as its artifact; raises
    ValueError (or KeyError) on anything that does not fit."""
    arrays = unpack(data)

    def get(prefix: str, count: int | None):
        if count is None:
            return None
        return [arrays[f"{prefix}.{i}"] for i in range(count)]

    more = []
    for k, entry in enumerate(document["more"]):
        parts: list[Any] = [tuple(tuple(shape) for shape in entry["shapes"]),
                            get(f"more.{k}.inputs", entry["inputs"]),
                            get(f"more.{k}.reference", entry["reference"])]
        if entry["length"] > 3:
            parts.append(get(f"more.{k}.yardstick", entry["yardstick"]))
        if entry["length"] > 4:
            parts.append(get(f"more.{k}.alternate", entry["alternate"]))
        more.append(tuple(parts))
    return SourceReading(
        artifact, get("inputs", document["inputs"]),
        get("reference", document["reference"]), get("native", document["native"]),
        document["reading"], more=tuple(more),
        yardstick=get("yardstick", document["yardstick"]))


def artifact_fields(artifact) -> dict[str, Any]:
    """An artifact's format, input names and metadata, which must survive JSON as they are."""
    fields = {"format": artifact.format, "input_names": list(artifact.input_names),
              "meta": artifact.meta}
    try:
        if json.loads(json.dumps(fields)) != fields:
            raise Uncacheable("artifact metadata that JSON does not keep as it is")
    except TypeError as exc:
        raise Uncacheable(f"artifact metadata that is not JSON: {exc}") from None
    return fields


def plain_array(value, where: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise Uncacheable(f"{where} is a {type(value).__name__}, not an array")
    if value.dtype.hasobject or np.dtype(value.dtype.str) != value.dtype:
        raise Uncacheable(f"{where} has dtype {value.dtype}, which the cache does not keep")
    return value


def output_arrays(outputs) -> bytes:
    """A run's outputs as one blob; ``Uncacheable`` where one is not a plain array."""
    if not isinstance(outputs, (list, tuple)):
        raise Uncacheable(f"outputs that are a {type(outputs).__name__}, not a list")
    return pack({f"out.{i}": plain_array(value, f"output {i}") for i, value in enumerate(outputs)})


def arrays_from(data: bytes, count: int) -> list[np.ndarray]:
    """The outputs ``output_arrays`` wrote; raises ValueError (or KeyError) on anything that
    does not fit."""
    arrays = unpack(data)
    if len(arrays) != count:
        raise ValueError(f"{len(arrays)} arrays where the entry names {count}")
    return [arrays[f"out.{i}"] for i in range(count)]


def meta_document(meta: dict[str, Any]) -> Any:
    """An artifact's metadata as JSON that keeps tuples apart from lists (a PyTorch
    artifact's ``returned_training`` is a tuple); ``Uncacheable`` where JSON cannot keep it
    as it is."""
    def encode(value):
        if isinstance(value, tuple):
            return {"tuple": [encode(v) for v in value]}
        if isinstance(value, list):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise Uncacheable("metadata with keys that are not strings")
            return {"dict": {k: encode(v) for k, v in value.items()}}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise Uncacheable(f"metadata holding a {type(value).__name__}")

    document = encode(meta)
    if meta_from(json.loads(json.dumps(document))) != meta:
        raise Uncacheable("metadata that JSON does not keep as it is")
    return document


def meta_from(document: Any) -> Any:
    """The metadata ``meta_document`` wrote; raises ValueError on anything else."""
    if isinstance(document, list):
        return [meta_from(v) for v in document]
    if isinstance(document, dict):
        if set(document) == {"tuple"} and isinstance(document["tuple"], list):
            return tuple(meta_from(v) for v in document["tuple"])
        if set(document) == {"dict"} and isinstance(document["dict"], dict):
            return {k: meta_from(v) for k, v in document["dict"].items()}
        raise ValueError(f"metadata entry {sorted(document)} is neither a tuple nor a dict")
    return document
