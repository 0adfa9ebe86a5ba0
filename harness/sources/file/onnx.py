"""An ONNX model from any exporter, read as written (external data only from inside the
model's folder); onnxruntime with no optimisation is its reference (starts paths at
``onnx``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.sources.file.domains import input_bounds, onnx_domain
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.fingerprint import file_key
from harness.sources.file.loaded import DEFAULT_INT_BOUND, LoadedModel
from harness.sources.file.safety import load_external_data, max_model_bytes

FORMAT = "onnx"
START = "onnx"

# The model the detector parsed, so that the loader does not parse it again.
_PARSED: dict[tuple, Any] = {}


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """A file is an ONNX model where it parses as one with nodes. Last in the detector's
    list: it reads the whole file."""
    if head is None:
        return False
    import onnx
    from google.protobuf.message import DecodeError

    if path.stat().st_size > max_model_bytes():
        return path.suffix.lower() == ".onnx"  # refused by size when read
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError, TypeError):
        return False
    if model.ir_version > 0 and len(model.graph.node) > 0:
        _PARSED.clear()
        _PARSED[file_key(path)] = model  # parsed once: the reader takes it from here
        return True
    return False


def load(path: Path, weights: Path | None, outputs: list[str] | None = None) -> LoadedModel:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = _PARSED.pop(file_key(path), None) or onnx.load(str(path),
                                                              load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError) as exc:
        raise FileError(path, f"a damaged ONNX file ({first_line(exc)})") from None
    return loaded_from(path, model, FORMAT)


def loaded_from(path: Path, model, kind: str, what: str = "an ONNX model") -> LoadedModel:
    """An ONNX ModelProto read from ``path`` (its external data from beside it), as a case
    of format ``kind`` needs to know it."""
    import onnx

    notes = load_external_data(path, model)
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
    bounds, inferred = input_bounds(names, dtypes, [onnx_domain(model, n) for n in names],
                                    DEFAULT_INT_BOUND)
    notes.extend(inferred)
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    notes.append(f"ONNX IR {model.ir_version}, opset {opsets.get('ai.onnx', '?')}"
                 + (f", written by {model.producer_name} {model.producer_version}".rstrip()
                    if model.producer_name else ""))
    layers = [{"kind": node.op_type, "attrs": {}} for node in model.graph.node]
    return LoadedModel(path, kind, START, model, names, shapes, dtypes, None, None, layers,
                       bounds, notes, what=what, unit="nodes")

