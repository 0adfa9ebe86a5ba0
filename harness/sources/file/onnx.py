"""An ONNX model from any exporter, read as written (external data only from inside the
model's folder); onnxruntime with no optimisation is its reference (starts paths at
``onnx``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.core.onnx_random import random_nodes
from harness.core.structure.models import constants, graphs, local_function_calls, readers
from harness.sources.file.domains import (
    dequantized,
    index_domain,
    input_bounds,
    onnx_index_graph,
    padding_masks,
    quantized_bound,
)
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.fingerprint import file_key
from harness.sources.file.loaded import (
    DEFAULT_INT_BOUND,
    LoadedModel,
    mixed_precision,
    strings_undrawable,
    wanted_arrays,
)
from harness.sources.file.safety import load_external_data, max_model_bytes
from harness.sources.file.spreads import graph_pixels, graph_spreads
from harness.sources.file.vocabularies import onnx_vocabularies

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
    names, shapes, dtypes, any_rank, dim_names = [], [], [], [], []
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
        dim_names.append(tuple(d.dim_param if size is None and d.HasField("dim_param")
                               else None for d, size in zip(tensor.shape.dim, dims)))
        if not tensor.HasField("shape"):
            any_rank.append(value.name)
        dtypes.append(np.dtype(dtype).name)
    if any(np.dtype(d).kind not in "fiubO" for d in dtypes):
        bad, dtype = next((n, d) for n, d in zip(names, dtypes)
                          if np.dtype(d).kind not in "fiubO")
        raise UnsupportedFile(path, f"input {bad!r} has element type {dtype}, which parity "
                                    f"cannot draw nor read from --inputs")
    nodes, tables = onnx_index_graph(model)
    values = constants(model)
    reading = readers(model)
    domains = [index_domain(nodes, tables, n) or pixels for n, pixels in
               zip(names, graph_pixels(names, dtypes, values, reading))]
    quantized = [domain is None and quantized_bound(d) is not None and dequantized(nodes, n)
                 for n, d, domain in zip(names, dtypes, domains)]
    bounds, inferred = input_bounds(names, dtypes, domains, DEFAULT_INT_BOUND, quantized)
    masks, masked = padding_masks(names, dtypes, shapes, domains)
    spreads = [None if bound is not None else found for bound, found in
               zip(bounds, graph_spreads(names, dtypes, values, reading))]
    notes.extend([*inferred, *masked, *(s.note(n) for n, s in zip(names, spreads) if s)])
    vocabularies = onnx_vocabularies(names, dtypes, reading)
    notes.extend(v.note(n) for n, v in zip(names, vocabularies) if v)
    notes.append(f"ONNX IR {model.ir_version}, {_opsets_text(model)}"
                 + (f", written by {model.producer_name} {model.producer_version}".rstrip()
                    if model.producer_name else ""))
    drawing = random_nodes(graphs(model.graph), values.get)
    if drawing:
        raise UnsupportedFile(path, _random_refusal(drawing))
    training = _batch_norms_in_training(model)
    if training:
        notes.append(f"{training} computes with training_mode=1, the batch's own statistics "
                     f"(exported in training mode): each output depends on the whole batch")
    calls = local_function_calls(model)
    if calls:
        notes.append("its graph calls functions the model defines ("
                     + ", ".join(f"{name}: {n} nodes" if n > 1 else f"{name}: 1 node"
                                 for name, n in calls.items())
                     + "); a converter that reads the graph alone needs them inlined "
                       "(onnx.inliner.inline_local_functions)")
    layers = [{"kind": node.op_type, "attrs": {}} for node in model.graph.node]
    computed = _computed_types(model)
    precision = mixed_precision(dtypes, set(computed))
    if precision is not None:
        half = precision.removeprefix("mixed_")
        notes.append(f"its graph computes in {half} between float32 inputs ({computed[half]}): "
                     f"judged as {precision}")
    return LoadedModel(path, kind, START, model, names, shapes, dtypes, None, None, layers,
                       bounds, notes, what=what, unit="nodes", precision=precision,
                       undrawable=(_strings_undrawable(model, names, shapes, dtypes,
                                                       vocabularies)
                                   or _any_rank_undrawable(any_rank, names, shapes, dtypes)),
                       any_rank=tuple(any_rank), dim_names=dim_names,
                       masks=masks, spreads=[None if s is None else s.attr() for s in spreads],
                       vocabularies=[None if v is None else v.attr() for v in vocabularies])


def _random_refusal(drawing: list[str]) -> str:
    shown = ", ".join(drawing[:3]) + (f" and {len(drawing) - 3} more" if len(drawing) > 3 else "")
    verb = "draws" if len(drawing) == 1 else "draw"
    return (f"its outputs are random: {shown} {verb} anew on every run, so no two runs of it "
            f"agree and no conversion can be compared with it; export it for inference "
            f"(torch: model.eval(), and torch.onnx.export(..., "
            f"training=torch.onnx.TrainingMode.EVAL)), or make the noise a graph input")


def _batch_norms_in_training(model) -> str | None:
    """The BatchNormalization nodes computing with the batch's statistics, in words."""
    found = [node.name or node.output[0] for graph in graphs(model.graph) for node in graph.node
             if node.op_type == "BatchNormalization"
             and any(a.name == "training_mode" and a.i == 1 for a in node.attribute)]
    if not found:
        return None
    return (f"BatchNormalization {found[0]!r}"
            + (f" and {len(found) - 1} more" if len(found) > 1 else ""))


def _computed_types(model) -> dict[str, str]:
    """The half types (float16, bfloat16) the main graph computes in besides its inputs', with
    where it says so: its initializers, its Casts, its declared intermediate values."""
    import onnx

    graph, found = model.graph, {}
    for half, code in (("float16", onnx.TensorProto.FLOAT16),
                       ("bfloat16", onnx.TensorProto.BFLOAT16)):
        counts = {
            ("initializer", "initializers"):
                sum(init.data_type == code for init in graph.initializer),
            ("Cast to it", "Casts to it"): sum(node.op_type == "Cast" and any(
                a.name == "to" and a.i == code for a in node.attribute) for node in graph.node),
            ("declared value", "declared values"): sum(
                v.type.tensor_type.elem_type == code for v in (*graph.value_info, *graph.output)),
        }
        if any(counts.values()):
            found[half] = ", ".join(f"{n} {words[n != 1]}" for words, n in counts.items() if n)
    return found


def _any_rank_undrawable(any_rank, names, shapes, dtypes) -> str | None:
    """Why parity cannot draw an input that declares no shape (a tensor of any rank, which
    ONNX's IR allows and onnx.checker refuses on a graph input), and what --inputs holds."""
    if not any_rank:
        return None
    return (f"input {any_rank[0]!r} declares no shape, not even a rank, so parity cannot tell "
            f"which shape to draw; give inputs it runs on with --inputs FILE.npz, one array "
            f"per input ({wanted_arrays(names, shapes, dtypes, any_rank)}; ? any size)")


def _opsets_text(model) -> str:
    """``opset 17``, and the other domains the model imports (``ai.onnx.ml 3``: a
    classical-ML model, as skl2onnx writes one)."""
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    others = [f"{domain} {version}" for domain, version in sorted(opsets.items())
              if domain != "ai.onnx"]
    return f"opset {opsets.get('ai.onnx', '?')}" + (f" ({', '.join(others)})" if others else "")


# Attributes by which an ai.onnx.ml node names the strings it knows (a category per value).
STRING_CATEGORIES = ("cats_strings", "keys_strings", "classes_strings", "classlabels_strings")
SHOWN_CATEGORIES = 5


def _strings_undrawable(model, names, shapes, dtypes, drawn) -> str | None:
    """Why parity cannot draw the inputs of a model that takes strings (a scikit-learn
    pipeline's categorical column, as skl2onnx writes it: StringTensorType), with the
    categories its ai.onnx.ml nodes know; None where every string input is ``drawn``."""
    known = [f"{name!r}: {found}" for name, d in zip(names, dtypes)
             if np.dtype(d).kind == "O" and (found := _known_strings(model, name)) is not None]
    return strings_undrawable(names, shapes, dtypes, "; ".join(known), drawn)


def _known_strings(model, name: str) -> str | None:
    """The categories the first ai.onnx.ml node reading ``name`` knows, in words."""
    from onnx import helper

    for node in model.graph.node:
        if name not in node.input:
            continue
        for attribute in node.attribute:
            if attribute.name in STRING_CATEGORIES:
                values = [v.decode(errors="replace") for v in
                          helper.get_attribute_value(attribute)]
                shown = ", ".join(repr(v) for v in values[:SHOWN_CATEGORIES])
                more = f" and {len(values) - SHOWN_CATEGORIES} more" \
                    if len(values) > SHOWN_CATEGORIES else ""
                return f"{node.op_type} {node.name or node.output[0]!r} knows {shown}{more}"
    return None

