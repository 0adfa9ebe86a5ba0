"""A TF SavedModel folder: with tf_keras' metadata (``keras_metadata.pb``) a Keras-2 model read
by tf_keras (starts paths at ``tf_keras``, and the folder is a second root, ``savedmodel``);
else a graph read by ``tf.saved_model.load`` (starts paths at ``savedmodel``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.converters.saved_formats import SavedFormatError, load_savedmodel
from harness.converters.savedmodel_signature import (
    SignatureError,
    choose,
    choose_name,
    inputs_text,
    signature_names,
)
from harness.sources.file.domains import (
    IndexNode,
    index_domain,
    input_bounds,
    padding_masks,
    tf_label,
)
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.keras_files import keras_loaded, register_known_objects
from harness.sources.file.loaded import (
    DEFAULT_INT_BOUND,
    KERAS2_START,
    PLAIN_SAVEDMODEL_START,
    LoadedModel,
    strings_undrawable,
)
from harness.sources.file.spreads import (
    MAX_SPREAD_VALUES,
    GraphNode,
    graph_pixels,
    graph_readers,
    graph_spreads,
)
from harness.sources.file.vocabularies import Vocabulary, tf_vocabularies
from harness.sources.file.writers import savedmodel_writer

FORMAT = "savedmodel"
START = KERAS2_START  # a plain graph records its start (``savedmodel``) in its case


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    """A folder is a SavedModel here, or refused: parity reads no other folder."""
    if head is not None:
        return False
    if (path / "saved_model.pb").is_file():
        return True
    if (path / "saved_model.pbtxt").is_file():
        raise UnsupportedFile(path, "a SavedModel in text form (saved_model.pbtxt); "
                                    "parity reads saved_model.pb")
    raise FileError(path, "a folder that is not a TF SavedModel (no saved_model.pb); "
                          "give a model file or a SavedModel folder")


PICKS_SIGNATURE = True  # parity check --signature NAME


def load(path: Path, weights: Path | None, outputs: list[str] | None = None,
         signature: str | None = None) -> LoadedModel:
    """A Keras-2 SavedModel is read by tf_keras (its call is its ``serving_default``); with
    ``--signature`` named, and for every other SavedModel, by the signature every SavedModel
    leg uses (harness.converters.savedmodel_signature)."""
    if signature is None and savedmodel_writer(path) is not None:
        return _load_keras2(path)
    try:
        loaded = load_savedmodel(path)
    except SavedFormatError as exc:
        raise FileError(path, str(exc).split(": ", 1)[-1]) from None
    try:
        chosen = choose(loaded, signature)
    except SignatureError as exc:
        raise UnsupportedFile(path, str(exc)) from None
    names = [name for name, _ in chosen.inputs]
    shapes = [tuple(None if d is None else int(d) for d in spec.shape) for _, spec in
              chosen.inputs]
    dtypes = [_numpy_dtype(path, key, spec) for key, spec in chosen.inputs]
    frozen = _frozen(chosen, dtypes)
    graph = None if frozen is None else frozen.graph.as_graph_def()
    pixels, spreads = _graph_scales(graph, chosen, dtypes)
    domains = [found or pixel for found, pixel in
               zip(_graph_domains(graph, chosen, dtypes), pixels)]
    bounds, inferred = input_bounds(names, dtypes, domains, DEFAULT_INT_BOUND)
    masks, masked = padding_masks(names, dtypes, shapes, domains)
    notes = [f"read by its {chosen.name!r} signature ({inputs_text(chosen)} -> "
             f"{', '.join(chosen.outputs)}), as TFLiteConverter.from_saved_model and tf2onnx "
             f"--saved-model read it" + ("" if signature else "; --signature NAME picks another")]
    vocabularies = _graph_vocabularies(frozen, chosen, dtypes)
    spreads = [None if bound is not None else found for bound, found in zip(bounds, spreads)]
    notes += [*inferred, *masked, *(s.note(n) for n, s in zip(names, spreads) if s),
              *(v.note(n) for n, v in zip(names, vocabularies) if v)]
    return LoadedModel(path, FORMAT, PLAIN_SAVEDMODEL_START, loaded, names, shapes, dtypes,
                       int_bounds=bounds, notes=notes, what="a TF SavedModel",
                       signature=chosen, masks=masks,
                       undrawable=strings_undrawable(names, shapes, dtypes,
                                                     drawn=vocabularies),
                       vocabularies=[None if v is None else v.attr() for v in vocabularies],
                       spreads=[None if s is None else s.attr() for s in spreads])


def _numpy_dtype(path: Path, key: str, spec) -> str:
    """A signature input's dtype as NumPy names it; a ``tf.string`` is ``object``, as an
    ONNX string input is (parity draws neither: ``--inputs`` gives them)."""
    if spec.dtype.name == "string":
        return "object"
    try:
        dtype = np.dtype(spec.dtype.as_numpy_dtype)
    except (TypeError, KeyError):  # a resource, a variant: no NumPy dtype at all
        dtype = None
    if dtype is None or (dtype.kind not in "fiub" and dtype.name != "bfloat16"):  # a qint8
        raise UnsupportedFile(path, f"input {key!r} has dtype {spec.dtype.name}, which parity "
                                    f"cannot draw nor read from --inputs")
    return dtype.name


# TensorFlow's ops in ONNX's spelling, as harness.sources.file.domains.index_domain reads them.
TF_INDEX_OPS = {"GatherV2": "Gather", "ResourceGather": "Gather", "Gather": "Gather",
                "SelectV2": "Where", "Select": "Where", "AddV2": "Add", "Add": "Add",
                "Mul": "Mul", "Less": "Less", "LogicalNot": "Not", "Cast": "Cast",
                "Identity": "Identity", "StopGradient": "Identity", "Reshape": "Reshape",
                "ExpandDims": "Unsqueeze", "Squeeze": "Squeeze", "Transpose": "Transpose",
                "StridedSlice": "Slice", "Slice": "Slice", "BroadcastTo": "Expand",
                "Tile": "Tile", "ConcatV2": "Concat"}


def _frozen(chosen, dtypes: list[str]):
    """The signature's function with its variables frozen, where an input is a number or a
    string (what it indexes, looks up or scales it by is read from the graph: a Keras 3
    ``model.export`` keeps no Keras metadata); None where none is, or TensorFlow cannot
    freeze it."""
    if not any(np.dtype(d).kind in "iuOf" for d in dtypes):
        return None
    try:
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )
        return convert_variables_to_constants_v2(chosen.function)
    except Exception:  # noqa: BLE001  (a graph TF cannot freeze: its inputs drawn as any)
        return None


def _graph_domains(graph, chosen, dtypes: list[str]) -> list:
    """Per signature input, the indices it feeds to a gather of a variable (an Embedding's
    token ids), read from the frozen GraphDef; None for each where there is none."""
    if graph is None:
        return [None] * len(dtypes)
    nodes, tables = tf_index_graph(graph)
    return [index_domain(nodes, tables, f"{spec.name or key}:0") if
            np.dtype(d).kind in "iu" else None
            for (key, spec), d in zip(chosen.inputs, dtypes)]


def _graph_vocabularies(frozen, chosen, dtypes: list[str]) -> list[Vocabulary | None]:
    """Per string or integer signature input, the keys of the hash table it is looked up in
    (a Keras StringLookup's, IntegerLookup's or TextVectorization's, as ``model.export``
    writes them), read from the loaded tables themselves; None for each where there is none."""
    if frozen is None:
        return [None] * len(dtypes)
    import tensorflow as tf

    # Freezing keeps a table's handle as the placeholder the signature captured it by.
    handles = {inner.name: outer for outer, inner in chosen.function.graph.captures}

    def export(name: str, keys, values):
        if name not in handles:
            return None
        try:
            found = tf.raw_ops.LookupTableExportV2(table_handle=handles[name], Tkeys=keys,
                                                   Tvalues=values)
        except Exception:  # noqa: BLE001  (a table that cannot list its keys: a dense one)
            return None
        return found[0].numpy(), found[1].numpy()

    names = [f"{spec.name or key}:0" if np.dtype(d).kind in "iuO" else ""  # "": no tensor
             for (key, spec), d in zip(chosen.inputs, dtypes)]
    return tf_vocabularies(frozen.graph, names, export)


# TensorFlow's ops in ONNX's spelling, as graph_pixels and graph_spreads read them; and the
# ops a constant is folded through (a Keras Normalization's max(sqrt(variance), epsilon)).
TF_SCALE_OPS = {"Mul": "Mul", "RealDiv": "Div", "Div": "Div", "Sub": "Sub",
                "Transpose": "Transpose", "Cast": "Cast", "Reshape": "Reshape"}
TF_FOLDED = {"Sqrt": np.sqrt, "Maximum": np.maximum, "Minimum": np.minimum,
             "Reciprocal": np.reciprocal, "Cast": lambda x: x}


def _graph_scales(graph, chosen, dtypes: list[str]) -> tuple[list, list]:
    """Per float signature input, raw pixels where the graph first scales it by about 1/255
    (a Keras Rescaling), and the scale a Sub of a constant then a division by one
    standardises it from (a Keras Normalization), read from the frozen GraphDef; None for
    each where there is none."""
    if graph is None or not any(np.dtype(d).kind == "f" for d in dtypes):
        return [None] * len(dtypes), [None] * len(dtypes)
    from tensorflow.python.framework import tensor_util

    alias: dict[str, str] = {}  # an Identity's output: the tensor it hands on

    def tensor(ref: str) -> str:
        name = ref if ":" in ref else f"{ref}:0"
        return alias.get(name, name)

    values: dict[str, np.ndarray] = {}
    nodes = []
    for node in graph.node:  # a GraphDef lists a node after its inputs
        inputs = [tensor(ref) for ref in node.input if not ref.startswith("^")]
        out = f"{node.name}:0"
        if node.op == "Identity" and inputs:
            alias[out] = inputs[0]
        elif node.op == "Const":
            try:
                values[out] = tensor_util.MakeNdarray(node.attr["value"].tensor)
            except Exception:  # noqa: BLE001  (a constant NumPy cannot hold: a string)
                continue
        elif node.op in TF_FOLDED and inputs and all(i in values for i in inputs):
            try:
                values[out] = np.asarray(TF_FOLDED[node.op](*(values[i] for i in inputs)))
            except Exception:  # noqa: BLE001
                continue
        if node.op in TF_SCALE_OPS and out not in values:
            nodes.append(GraphNode(TF_SCALE_OPS[node.op], tuple(inputs), (out,),
                                   tf_label(node.name)))
    values = {name: value for name, value in values.items() if value.size <= MAX_SPREAD_VALUES}
    readers = graph_readers(nodes)
    names = [tensor(f"{spec.name or key}:0") for key, spec in chosen.inputs]
    return (graph_pixels(names, dtypes, values, readers),
            graph_spreads(names, dtypes, values, readers))


def tf_index_graph(graph) -> tuple[list[IndexNode], dict[str, tuple[int, ...]]]:
    """A frozen GraphDef's nodes and constant tables, as ``index_domain`` reads them."""
    from tensorflow.python.framework import tensor_util

    def tensor(ref: str) -> str:
        return ref if ":" in ref else f"{ref}:0"

    consts = {f"{node.name}:0": node.attr["value"].tensor for node in graph.node
              if node.op == "Const"}
    tables = {name: tuple(d.size for d in value.tensor_shape.dim)
              for name, value in consts.items()}
    nodes = []
    for node in graph.node:
        op = TF_INDEX_OPS.get(node.op)
        if op is None:
            continue
        inputs = tuple(tensor(ref) for ref in node.input if not ref.startswith("^"))
        axes: tuple[int, ...] = (0,)
        if node.op == "GatherV2":
            axis = consts.get(inputs[2]) if len(inputs) > 2 else None
            plain = axis is not None and node.attr["batch_dims"].i == 0
            axes = (int(tensor_util.MakeNdarray(axis)),) if plain else ()
        nodes.append(IndexNode(op, inputs, (f"{node.name}:0",), f"{node.op} {node.name!r}",
                               axes))
    return nodes, tables


def _load_keras2(path: Path) -> LoadedModel:
    import tf_keras
    from tf_keras.src.saving import serialization_lib

    register_known_objects()
    try:
        with serialization_lib.SafeModeScope(True):
            legacy = tf_keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # noqa: BLE001
        raise FileError(path, f"tf_keras cannot read this SavedModel "
                              f"({type(exc).__name__}: {first_line(exc)})") from None
    return keras_loaded(path, FORMAT, legacy, "a TF SavedModel with Keras metadata", None,
                        legacy, ["written by Keras 2 (keras_metadata.pb): read by tf_keras",
                                 _folder_signature_note(path)], start=KERAS2_START)


def _folder_signature_note(path: Path) -> str:
    """Which signature the folder's own legs (tf2onnx --saved-model, tflite-savedmodel) read:
    the choice every SavedModel leg makes."""
    names = signature_names(path) or []
    try:
        name = choose_name(names, None, lambda: load_savedmodel(path))
    except SignatureError as exc:
        return f"its SavedModel legs do not apply: {exc}"
    return (f"its SavedModel legs (savedmodel>...) read its {name!r} signature, as tf2onnx "
            f"--saved-model and TFLiteConverter.from_saved_model do")
