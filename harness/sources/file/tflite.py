"""A ``.tflite`` flatbuffer (written by the TFLite converter, or by onnx2tf), read as an app
runs it: the LiteRT interpreter through the file's signature runner is the reference (starts
paths at ``tflite``). Its signature is chosen as a SavedModel's is: ``serving_default``, else
the one it has, else a refusal naming them (``--signature NAME`` picks another).

The signature's inputs are fed by key, in sorted key order, each at the shape its
``shape_signature`` declares (-1 a free dimension); its outputs are read in sorted key order.
A quantized file's inputs and outputs are in the dtypes it declares (int8, uint8): parity
draws each quantized input over its type's whole range, onto which the file's quantization
maps the range it was calibrated on (a draw of [0, 128) alone, the upper half of int8's,
left a calibrated int8 CNN's output constant), and compares its outputs exactly, as integers
are.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from harness.converters.savedmodel_signature import SignatureError, choose_name
from harness.runtimes.litert import interpreter
from harness.sources import SourceRefusal
from harness.sources.file.domains import (
    IndexNode,
    index_domain,
    input_bounds,
    padding_masks,
)
from harness.sources.file.errors import FileError, UnsupportedFile, first_line
from harness.sources.file.loaded import LoadedModel
from harness.sources.file.spreads import (
    MAX_SPREAD_VALUES,
    GraphNode,
    graph_pixels,
    graph_readers,
    graph_spreads,
)

FORMAT = "tflite"
START = "tflite"
PICKS_SIGNATURE = True  # parity check --signature NAME
FLATBUFFER_ID = b"TFL3"  # the file identifier, bytes 4..8 of every TFLite flatbuffer
INT_BOUND = 128  # an integer input that is not quantized is drawn in [0, 128)


def recognises(path: Path, head: bytes | None, weights: Path | None) -> bool:
    return head is not None and head[4:8] == FLATBUFFER_ID


def _no_signature(path: Path):
    """``choose_name`` describes a signature-less SavedModel by reloading it; a TFLite file
    without signatures is refused in its place, with what to do."""
    def refusal():
        raise UnsupportedFile(path, "a TFLite file with no signature: parity reads a .tflite "
                                    "by its signature runner, as an app does; convert it "
                                    "again from a SavedModel or a Keras model, whose "
                                    "signatures the TFLite converter keeps")
    return refusal


def load(path: Path, weights: Path | None, outputs: list[str] | None = None,
         signature: str | None = None) -> LoadedModel:
    flat = path.read_bytes()
    try:
        runner_of = interpreter(flat)
        signatures = runner_of.get_signature_list()
    except Exception as exc:  # noqa: BLE001  (a damaged flatbuffer)
        raise FileError(path, f"LiteRT cannot read this .tflite file "
                              f"({type(exc).__name__}: {first_line(exc)})") from None
    try:
        name = choose_name(list(signatures), signature, _no_signature(path))
    except SignatureError as exc:
        raise UnsupportedFile(path, str(exc).replace("SavedModel", "TFLite file")) from None
    _refuse_without_flex(path, runner_of)
    runner = runner_of.get_signature_runner(name)
    inputs = runner.get_input_details()
    keys = sorted(inputs)
    shapes = [tuple(None if int(d) < 0 else int(d) for d in inputs[key]["shape_signature"])
              for key in keys]
    dtypes = [np.dtype(inputs[key]["dtype"]).name for key in keys]
    quantized = [key for key in keys if inputs[key]["quantization"][0]]
    subgraph = int(getattr(runner, "_subgraph_index", 0))
    indices = [inputs[key]["index"] for key in keys]
    pixels, spreads = (_graph_scales(runner_of, indices, dtypes) if subgraph == 0
                       else ([None] * len(keys), [None] * len(keys)))
    domains = (_graph_domains(runner_of, indices, dtypes) if subgraph == 0
               else [None] * len(keys))
    domains = [found or pixel for found, pixel in zip(domains, pixels)]
    bounds, inferred = input_bounds(keys, dtypes, domains, INT_BOUND,
                                    [key in quantized for key in keys])
    spreads = [None if bound is not None else found for bound, found in zip(bounds, spreads)]
    inferred += [s.note(key) for key, s in zip(keys, spreads) if s is not None]
    output_keys = sorted(runner.get_output_details())
    masks, masked = padding_masks(keys, dtypes, shapes, domains)
    notes = [f"read by LiteRT through its {name!r} signature runner ({', '.join(keys)} -> "
             f"{', '.join(output_keys)})", *inferred, *masked]
    model = TfliteFile(flat, name, keys, output_keys,
                       {key: inputs[key]["name"] for key in keys},
                       {key: details["name"] for key, details in
                        runner.get_output_details().items()}, subgraph)
    return LoadedModel(path, FORMAT, START, model, keys, shapes, dtypes, int_bounds=bounds,
                       notes=notes, what="a TFLite model", masks=masks,
                       spreads=[None if s is None else s.attr() for s in spreads])


def _refuse_without_flex(path: Path, runner_of) -> None:
    """A file converted with Select TF ops (``SELECT_TF_OPS``: TensorFlow kernels in ``Flex``
    nodes) runs only where the Flex delegate is linked, as an app links
    tensorflow-lite-select-tf-ops; where this interpreter has none, the machine cannot read
    it (a refusal, not a fault of the file or of the inputs drawn)."""
    try:
        flex = sorted({op["op_name"].removeprefix("Flex") for op in runner_of._get_ops_details()
                       if op["op_name"].startswith("Flex")})
    except Exception:  # noqa: BLE001  (no op details: the first run says what fails)
        return
    if not flex:
        return
    try:
        runner_of.allocate_tensors()
    except RuntimeError as exc:
        if "Select TensorFlow op" not in str(exc):
            return
        raise SourceRefusal(
            f"{path}: its graph holds TensorFlow ops ({', '.join(flex)}) that LiteRT runs "
            f"only with the Flex delegate (Select TF ops), which the installed interpreter "
            f"(ai-edge-litert {_litert_version()}) lacks: an app links "
            f"tensorflow-lite-select-tf-ops for them; check the SavedModel or Keras model it "
            f"was converted from instead") from None


def _litert_version() -> str:
    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return "?"


# LiteRT's builtin ops in ONNX's spelling, as harness.sources.file.domains.index_domain reads
# them (EMBEDDING_LOOKUP takes its ids first: turned round below).
TFLITE_INDEX_OPS = {"GATHER": "Gather", "EMBEDDING_LOOKUP": "Gather", "SELECT_V2": "Where",
                    "SELECT": "Where", "ADD": "Add", "MUL": "Mul", "LESS": "Less",
                    "LOGICAL_NOT": "Not", "CAST": "Cast", "RESHAPE": "Reshape",
                    "EXPAND_DIMS": "Unsqueeze", "SQUEEZE": "Squeeze", "TRANSPOSE": "Transpose",
                    "STRIDED_SLICE": "Slice", "SLICE": "Slice", "BROADCAST_TO": "Expand",
                    "TILE": "Tile", "CONCATENATION": "Concat"}


def _graph_domains(runner_of, indices: list[int], dtypes: list[str]) -> list:
    """Per signature input (tensor ``indices``), the ids it feeds to a gather of a constant
    table (an Embedding's token ids), read from the main subgraph (the one the interpreter
    shows ops of: another signature's are not read); None where it feeds none.
    The interpreter does not show a gather's axis: the axes that fit the tensors' shapes
    (free dimensions at the interpreter's placeholder 1) are those it may mean, the
    narrowest bound taken."""
    graph = _ops_and_tensors(runner_of) if any(np.dtype(d).kind in "iu" for d in dtypes) else None
    if graph is None:
        return [None] * len(dtypes)
    ops, details = graph

    def shape(index: int) -> tuple[int, ...]:
        return tuple(int(d) for d in details.get(index, {}).get("shape", ()))

    produced = {int(out) for op in ops for out in op["outputs"]}
    tables = {str(i): shape(i) for i in details if i not in produced and i not in indices}
    nodes = []
    for op in ops:
        kind = TFLITE_INDEX_OPS.get(op["op_name"])
        if kind is None:
            continue
        inputs = [int(i) for i in op["inputs"]]
        outputs = [int(i) for i in op["outputs"]]
        axes: tuple[int, ...] = (0,)
        if op["op_name"] == "EMBEDDING_LOOKUP":
            inputs = inputs[1::-1]
        elif op["op_name"] == "GATHER":
            axes = _gather_axes(shape(inputs[0]), shape(inputs[1]), shape(outputs[0]))
        # A fused tensor is named by every op it stands for: "a/GatherV2;b/...".
        label = details.get(outputs[0], {}).get("name", "").split(";")[0] if outputs else ""
        nodes.append(IndexNode(kind, tuple(map(str, inputs)), tuple(map(str, outputs)),
                               f"{op['op_name']} {label!r}", axes))
    return [index_domain(nodes, tables, str(index)) if np.dtype(d).kind in "iu" else None
            for index, d in zip(indices, dtypes)]


def _ops_and_tensors(runner_of) -> tuple[list, dict] | None:
    """The main subgraph's ops and its tensors' details by index, or None where the
    interpreter does not show them (an input is then drawn as nothing bounds it)."""
    try:
        return (runner_of._get_ops_details(),
                {t["index"]: t for t in runner_of.get_tensor_details()})
    except Exception:  # noqa: BLE001
        return None


# LiteRT's builtin ops that scale an input, in ONNX's spelling (graph_spreads, graph_pixels).
TFLITE_SCALE_OPS = {"SUB": "Sub", "MUL": "Mul", "DIV": "Div", "TRANSPOSE": "Transpose",
                    "RESHAPE": "Reshape", "CAST": "Cast"}


def _graph_scales(runner_of, indices: list[int], dtypes: list[str]) -> tuple[list, list]:
    """Per signature input (tensor ``indices``) of the main subgraph, raw pixels where a MUL
    or DIV first scales it by about 1/255 (a Keras Rescaling as the TFLite converter writes
    it), and the scale a SUB of a constant then a MUL or DIV by one standardises it from (a
    Keras Normalization), or None for each."""
    graph = _ops_and_tensors(runner_of) if any(np.dtype(d).kind == "f" for d in dtypes) else None
    if graph is None:
        return [None] * len(dtypes), [None] * len(dtypes)
    ops, details = graph
    produced = {int(out) for op in ops for out in op["outputs"]}
    values = {}
    for index, tensor in details.items():
        if index in produced or index in indices or np.prod(tensor["shape"]) > MAX_SPREAD_VALUES:
            continue
        try:
            values[str(index)] = runner_of.get_tensor(index)
        except Exception:  # noqa: BLE001  (a tensor without data: not a constant)
            continue
    nodes = [GraphNode(TFLITE_SCALE_OPS[op["op_name"]], tuple(str(int(i)) for i in op["inputs"]
                                                              if int(i) >= 0),
                       tuple(str(int(i)) for i in op["outputs"]),
                       details.get(int(op["outputs"][0]), {}).get("name", "").split(";")[0])
             for op in ops if op["op_name"] in TFLITE_SCALE_OPS and len(op["outputs"])]
    readers = graph_readers(nodes)
    names = [str(i) for i in indices]
    return (graph_pixels(names, dtypes, values, readers),
            graph_spreads(names, dtypes, values, readers))


def _gather_axes(table: tuple[int, ...], ids: tuple[int, ...],
                 out: tuple[int, ...]) -> tuple[int, ...]:
    """The axes a GATHER of ``table`` by ``ids`` giving ``out`` may have gathered along: out =
    table[:a] + ids + table[a + 1:]."""
    return tuple(axis for axis in range(len(table))
                 if out == table[:axis] + ids + table[axis + 1:])


class TfliteFile:
    """A .tflite file's bytes and the signature chosen: its key, its input and output keys in
    the order the case feeds and reads them, each key's tensor name (what tf2onnx's
    ``--tflite`` names the ONNX model's inputs and outputs by), and the subgraph it runs."""

    def __init__(self, flat: bytes, signature: str, inputs: list[str], outputs: list[str],
                 input_tensors: dict[str, str], output_tensors: dict[str, str],
                 subgraph: int = 0):
        self.flat, self.signature = flat, signature
        self.inputs, self.outputs = inputs, outputs
        self.input_tensors, self.output_tensors = input_tensors, output_tensors
        self.subgraph = subgraph

    def meta(self) -> dict:
        """How a ``tflite`` artifact maps its signature to the case (harness.runtimes.litert),
        the tensor names tf2onnx gives the ONNX model's inputs and outputs, and the
        signature's subgraph (``tflite_subgraph``, where it is not the first)."""
        return {"signature": self.signature, "tflite_inputs": list(self.inputs),
                "tflite_outputs": list(self.outputs),
                "input_tensors": [self.input_tensors[k] for k in self.inputs],
                "output_tensors": [self.output_tensors[k] for k in self.outputs],
                **({"tflite_subgraph": self.subgraph} if self.subgraph else {})}
