"""Structural checks that recognise a known issue by its cause, not by one wording of it.

A known-issue entry may name one (``structure = "NAME"`` in its TOML): a function of the ONNX
model the leg's stage was given (``received``) and the one it wrote (``produced``, None where
it wrote none) that says whether the root cause is there, whatever the failure's message.
One root cause produces many messages (onnxslim's squeeze of a fed-axes Squeeze is refused at
load as "Input rank must be >= 1" before a Softmax, as "'axis' must be in [-1 , 0]" with two
channels, as a buffer mismatch at run time); what the rewritten graph changed is the same.

A check reads the models and nothing else; it returns False where it cannot tell (no
produced model, a model it cannot read), so the entry's message still decides there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from harness.core.onnx_schema import attribute_defaults

# The opset a model without an ai.onnx import is read at (Selu's defaults have not changed).
OPSET = 17
FLOAT16 = 10  # onnx.TensorProto.FLOAT16
# A float32 scale is n / h rounded to 24 bits: h x scale is within 2**-24 of n, relatively.
SHORT_BY = Fraction(1, 2**20)

Check = Callable[[Any, Any], bool]


def _typed_shapes(model) -> dict[str, tuple]:
    """Per tensor name, the dims its value_info or graph output declares (an int, a name, or
    None for an unknown dim); tensors declared without a shape are left out."""
    found = {}
    for value in [*model.graph.value_info, *model.graph.output]:
        tensor = value.type.tensor_type
        if tensor.HasField("shape"):
            found[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                      for d in tensor.shape.dim)
    return found


def _inferred(model) -> dict[str, tuple]:
    import onnx

    try:
        return _typed_shapes(onnx.shape_inference.infer_shapes(model))
    except Exception:  # noqa: BLE001  (a model inference refuses: nothing is known)
        return _typed_shapes(model)


# op type -> the input whose value decides its outputs' shapes
FED_SHAPE_OPERANDS = {"Squeeze": 1, "Split": 1, "Unsqueeze": 1}


def fed_operand_shape_invented(received, produced) -> bool:
    """The produced model declares a shape for an output of a Squeeze, Split or Unsqueeze
    whose axes or split are fed at run time (a graph input of the received model) that
    the received model could not know: a dim where its own shape inference has none, or
    a rank where it has no shape. The rewriter read the fed operand as absent."""
    if received is None or produced is None:
        return False
    received, produced = getattr(received, "model", received), getattr(produced, "model",
                                                                        produced)
    if not hasattr(received, "graph") or not hasattr(produced, "graph"):
        return False
    graph_inputs = {i.name for i in received.graph.input} - {
        t.name for t in received.graph.initializer}
    outputs = [out for node in received.graph.node
               if (at := FED_SHAPE_OPERANDS.get(node.op_type)) is not None
               and len(node.input) > at and node.input[at] in graph_inputs
               for out in node.output]
    if not outputs:
        return False
    known, declared = _inferred(received), _typed_shapes(produced)
    for name in outputs:
        if name not in declared:
            continue
        before = known.get(name)
        if before is None or len(before) != len(declared[name]):
            return True
        if any(b is None and d for b, d in zip(before, declared[name])):
            return True
    return False


def _model(artifact):
    model = getattr(artifact, "model", artifact)
    return model if hasattr(model, "graph") else None


def _opset(model) -> int:
    return next((entry.version for entry in model.opset_import
                 if entry.domain in ("", "ai.onnx")), OPSET)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fed_inputs(model) -> set[str]:
    return {i.name for i in model.graph.input} - {t.name for t in model.graph.initializer}


def fed_input_dropped(received, produced) -> bool:
    """The produced model no longer takes a graph input that the received model is fed:
    a caller feeding the model's inputs is refused, whatever the rewrite that left the input
    unused (a Reshape's shape replaced by a constant, a Dropout's ratio removed with it)."""
    before, after = _model(received), _model(produced)
    if before is None or after is None:
        return False
    return bool(_fed_inputs(before) - {i.name for i in after.graph.input})


def matmul_constant_first(received, produced) -> bool:
    """The received model has a MatMul whose first operand is a constant (an initializer or
    a Constant node's output) and whose second is not: W @ x, which a converter that turns
    every constant MatMul into a Linear computes as x @ W."""
    model = _model(received)
    if model is None:
        return False
    constants = {t.name for t in model.graph.initializer} | {
        out for n in model.graph.node if n.op_type == "Constant" for out in n.output}
    constants -= _fed_inputs(model)
    return any(n.op_type == "MatMul" and n.input[0] in constants
               and n.input[1] not in constants for n in model.graph.node)


def split_into_one(received, produced) -> bool:
    """The received model has a Split with a single output (the whole axis in one part)."""
    model = _model(received)
    return model is not None and any(n.op_type == "Split" and len(n.output) == 1
                                     for n in model.graph.node)


def _declared_shapes(model) -> dict[str, tuple]:
    """Per tensor name, the dims an initializer, a graph input or shape inference gives."""
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    for value in model.graph.input:
        tensor = value.type.tensor_type
        if tensor.HasField("shape") and value.name not in shapes:
            shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                       for d in tensor.shape.dim)
    return {**_inferred(model), **shapes}


def _ranks(model) -> dict[str, int]:
    """Per tensor name, its rank where the model declares or infers one."""
    return {name: len(dims) for name, dims in _declared_shapes(model).items()}


def shape_slice_out_of_range(received, produced) -> bool:
    """The received model has a Shape whose start or end, a negative one counted from the
    rank, falls outside [0, rank], or whose end comes before its start: Shape-15 clamps them,
    and a rewriter that indexes the dims without clamping reads past them."""
    model = _model(received)
    if model is None:
        return False
    ranks = _ranks(model)
    for node in model.graph.node:
        if node.op_type != "Shape" or node.input[0] not in ranks:
            continue
        rank = ranks[node.input[0]]
        attrs = {a.name: a.i for a in node.attribute}
        start, end = attrs.get("start", 0), attrs.get("end", rank)
        start, end = (start + rank if start < 0 else start), (end + rank if end < 0 else end)
        if not (0 <= start <= rank and 0 <= end <= rank) or end < start:
            return True
    return False


def graph_outputs_not_whole_nodes(received, produced) -> bool:
    """The received model's graph outputs, in order, are not the whole outputs of the nodes
    that produce them, each node once in order of first use: a graph output that is one
    output of a node with several (TopK's indices alone), two outputs of one node in another
    order than the node's, or one value listed twice. A converter that returns each graph
    output's producing node, deduplicated, returns something else there."""
    model = _model(received)
    if model is None:
        return False
    producer = {out: index for index, node in enumerate(model.graph.node)
                for out in node.output}
    wanted = [value.name for value in model.graph.output]
    if any(name not in producer for name in wanted):
        return False
    nodes = list(dict.fromkeys(producer[name] for name in wanted))
    returned = [out for index in nodes for out in model.graph.node[index].output if out]
    return returned != wanted


def _constants(model) -> dict[str, Any]:
    """Per name, the value of each initializer and Constant node output that is not fed."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    for name in _fed_inputs(model):
        values.pop(name, None)
    return values


def _readers(model) -> dict[str, list[Any]]:
    """Per tensor name, the nodes that read it."""
    readers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def layer_norm_chain_misread(received, produced) -> bool:
    """The received model holds the decomposed layer norm ReduceMean > Sub > Pow >
    ReduceMean > Add > Sqrt > Div with an operand that onnxruntime's LayerNormFusion does not
    check: a Pow exponent other than 2, the mean subtracted from (mean - x), the Div reversed
    (sqrt / d), or the epsilon as the Add's first operand (the fusion reads the second)."""
    model = _model(received)
    if model is None:
        return False
    made = {out: node for node in model.graph.node for out in node.output}
    readers = _readers(model)
    constants = _constants(model)

    def read_by(name: str, op: str) -> list[Any]:
        return [node for node in readers.get(name, []) if node.op_type == op]

    for power in (n for n in model.graph.node if n.op_type == "Pow"):
        sub = made.get(power.input[0])
        if sub is None or sub.op_type != "Sub":
            continue
        mean_first = getattr(made.get(sub.input[0]), "op_type", None) == "ReduceMean"
        if not mean_first and getattr(made.get(sub.input[1]), "op_type", None) != "ReduceMean":
            continue
        exponent = constants.get(power.input[1])
        for variance in read_by(power.output[0], "ReduceMean"):
            for add in read_by(variance.output[0], "Add"):
                for root in read_by(add.output[0], "Sqrt"):
                    for div in read_by(root.output[0], "Div"):
                        if (exponent is None or exponent.size != 1 or float(exponent) != 2.0
                                or mean_first or add.input[0] != variance.output[0]
                                or div.input[0] == root.output[0]):
                            return True
    return False


def _score_thresholds(model) -> list[str]:
    """Each NonMaxSuppression's score_threshold operand, "" where it is omitted."""
    return [(list(node.input) + [""] * 5)[4] for node in model.graph.node
            if node.op_type == "NonMaxSuppression"]


def nms_score_threshold_omitted(received, produced) -> bool:
    """The received model has a NonMaxSuppression without a score_threshold (no box is
    removed by its score)."""
    model = _model(received)
    return model is not None and "" in _score_thresholds(model)


def nms_score_threshold_given(received, produced) -> bool:
    """The received model has a NonMaxSuppression given a score_threshold."""
    model = _model(received)
    return model is not None and any(_score_thresholds(model))


def _onehots(received) -> list[tuple[int, int]]:
    """(indices rank, axis) of each OneHot of the received model whose indices' rank is
    known; the axis as written, -1 where it is left out."""
    model = _model(received)
    if model is None:
        return []
    ranks = _ranks(model)
    return [(ranks[node.input[0]], next((a.i for a in node.attribute if a.name == "axis"), -1))
            for node in model.graph.node
            if node.op_type == "OneHot" and node.input[0] in ranks]


def onehot_axis_inside_channel_last(received, produced) -> bool:
    """The received model has a OneHot of indices of rank 3 or more (a tensor onnx2tf keeps
    channel-last) whose new axis is not the last one."""
    return any(rank >= 3 and axis % (rank + 1) != rank for rank, axis in _onehots(received))


def conv_scale_not_per_channel(received, produced) -> bool:
    """The received model has a Conv or ConvTranspose (constant weights, its one reader) >
    Mul by a constant whose values, squeezed, are as many as the weight's output-channel
    axis holds, but which does not broadcast along the channel axis: a (C,) constant that
    scales the last axis, a (C, 1, 1, 1) one that adds a leading axis. onnxslim's
    FusionConvMul folds such a constant into the weights as a per-channel scale."""
    model = _model(received)
    if model is None:
        return False
    constants = _constants(model)
    readers = _readers(model)
    for conv in model.graph.node:
        if conv.op_type not in ("Conv", "ConvTranspose") or conv.input[1] not in constants:
            continue
        (mul, *others) = readers.get(conv.output[0], [None])
        if others or mul is None or mul.op_type != "Mul" or mul.input[0] != conv.output[0]:
            continue
        scale = constants.get(mul.input[1])
        weight = constants[conv.input[1]]
        axis = 0 if conv.op_type == "Conv" else 1
        if scale is None or scale.squeeze().ndim != 1 \
                or scale.squeeze().shape[0] != weight.shape[axis]:
            continue
        group = next((a.i for a in conv.attribute if a.name == "group"), 1)
        channels = weight.shape[axis] * (group if conv.op_type == "ConvTranspose" else 1)
        rank = weight.ndim
        aligned = [1] * (rank - scale.ndim) + list(scale.shape)
        if aligned != [1, channels] + [1] * (rank - 2):
            return True
    return False


def onehot_negative_axis_kept_layout(received, produced) -> bool:
    """The received model has a OneHot with a negative axis (the default, -1, included) of
    indices of rank 1 or 2, which onnx2tf does not move channel-last: onnx2tf's OneHot
    counts a negative axis twice (axis + rank + axis + 1), so the new axis goes in |axis|
    places early; in a channel-last tensor that slip happens to undo the layout."""
    return any(rank in (1, 2) and axis < 0 for rank, axis in _onehots(received))


def matmul_bias_expands_output(received, produced) -> bool:
    """The received model has a MatMul by a constant matrix, read by an Add alone whose
    constant operand broadcasts the product to a larger shape (a (B, N) bias on a (B, 1, N)
    or (1, N) product). onnxslim's FusionGemm flattens a batched product to (M, N) for a Gemm
    and checks the bias against that, so the expansion is lost; onnx2pytorch makes the bias
    a Linear's, which torch adds into the product's own shape."""
    model = _model(received)
    if model is None:
        return False
    constants = _constants(model)
    shapes = {**_inferred(model), **_typed_shapes(model)}
    readers = _readers(model)
    for matmul in model.graph.node:
        if matmul.op_type != "MatMul" or matmul.input[1] not in constants:
            continue
        product = shapes.get(matmul.output[0])
        if product is None or len(product) < 2 or None in product:
            continue
        (add, *others) = readers.get(matmul.output[0], [None])
        if others or add is None or add.op_type != "Add":
            continue
        bias = next((constants[name] for name in add.input
                     if name != matmul.output[0] and name in constants), None)
        if bias is None:
            continue
        widened = _broadcast(tuple(product), tuple(bias.shape))
        if widened is not None and widened != tuple(product):
            return True
    return False


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape NumPy's broadcasting gives ``a`` and ``b``, None where they do not broadcast
    (an invalid model: nothing to say). Plain Python: the report reads these checks' names
    through the known issues and imports no framework, numpy included."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def reshape_of_reshape_copies_a_dim(received, produced) -> bool:
    """The received model has a Reshape (allowzero 0) of another Reshape's output, its only
    reader, whose shape may hold a 0 (a constant that holds one, or a shape not known until
    run time): the 0 copies a dimension of the first Reshape's output, so the two do not
    merge into one Reshape of the first's input by the second's shape, as onnxoptimizer's
    eliminate_consecutive_idempotent_ops and onnxslim's EliminationReshape (for a fed shape) do."""
    model = _model(received)
    if model is None:
        return False
    constants = _constants(model)
    made = {out: node for node in model.graph.node for out in node.output}
    readers = _readers(model)
    for second in model.graph.node:
        first = made.get(second.input[0]) if second.op_type == "Reshape" else None
        if first is None or first.op_type != "Reshape" or len(readers[first.output[0]]) != 1:
            continue
        if any(a.name == "allowzero" and a.i for a in second.attribute):
            continue
        shape = constants.get(second.input[1])
        if shape is None or (shape == 0).any():
            return True
    return False


# -- where a rewriter's known bug can be at all: the motif its cause needs -----------------
# A ``where`` check: an entry that names one claims a failure only where its motif is in the
# model the stage was given, so a fault elsewhere in the same graph, or the same message from
# another pass (an IndexError, "The shapes do not match"), stays a failure.


def fed_shape_operand(received, produced) -> bool:
    """The received model has a Squeeze, Split or Unsqueeze whose axes or split are fed at
    run time (a graph input): the operand a rewriter's shape inference may read as absent."""
    model = _model(received)
    if model is None:
        return False
    fed = _fed_inputs(model)
    return any((at := FED_SHAPE_OPERANDS.get(node.op_type)) is not None
               and len(node.input) > at and node.input[at] in fed
               for node in model.graph.node)


NOT_KNOWN = object()  # an operand fed at run time


def _axes(node, constants: dict[str, Any]):
    """A node's axes, from its attribute (Squeeze before opset 13, Reduce* before 18) or its
    constant second input: a list, None where they are left out, NOT_KNOWN where they are
    fed."""
    for attr in node.attribute:
        if attr.name == "axes":
            return list(attr.ints)
    if len(node.input) < 2 or not node.input[1]:
        return None
    if node.input[1] in constants:
        return [int(a) for a in constants[node.input[1]].reshape(-1)]
    return NOT_KNOWN


def _fed_by(model, producer: str, reader: str):
    """(producer node, reader node) of each ``reader`` whose first input a ``producer``
    makes."""
    made = {out: node for node in model.graph.node for out in node.output}
    for node in model.graph.node:
        first = made.get(node.input[0]) if node.op_type == reader and node.input else None
        if first is not None and first.op_type == producer:
            yield first, node


def squeeze_of_squeeze_negative_axes(received, produced) -> bool:
    """The received model has a Squeeze of another Squeeze's output whose axes hold a
    negative one: merged, a negative first axis is shifted without the rank
    (onnxoptimizer's fuse_consecutive_squeezes)."""
    model = _model(received)
    if model is None:
        return False
    constants = _constants(model)
    for first, _second in _fed_by(model, "Squeeze", "Squeeze"):
        axes = _axes(first, constants)
        if axes is None or axes is NOT_KNOWN or any(a < 0 for a in axes):
            return True
    return False


def zero_pad_before_maxpool(received, produced) -> bool:
    """The received model has a MaxPool reading a Pad in constant mode whose value is 0 (or
    absent, or not known until run time): folded into the MaxPool's own pads, which stand
    for -inf (onnxoptimizer's fuse_pad_into_pool)."""
    model = _model(received)
    if model is None:
        return False
    constants = _constants(model)
    for pad, _pool in _fed_by(model, "Pad", "MaxPool"):
        attrs = {a.name: a for a in pad.attribute}
        if "mode" in attrs and attrs["mode"].s not in (b"constant", b""):
            continue
        value = (constants.get(pad.input[2]) if len(pad.input) > 2 and pad.input[2]
                 else None)
        if "value" in attrs:
            if attrs["value"].f == 0:
                return True
        elif value is None or not value.any():
            return True
    return False


def resize_with_axes(received, produced) -> bool:
    """The received model has a Resize by scales or sizes (its third or fourth input) with an
    axes attribute: the scales or sizes name only the listed axes."""
    model = _model(received)
    return model is not None and any(
        node.op_type == "Resize" and any(node.input[2:4])
        and any(a.name == "axes" for a in node.attribute) for node in model.graph.node)


# -- where a node converter's known bug can be: the node and the values its cause needs -----
# An entry about how onnx2torch or onnx2pytorch converts one op claims a failure only where a
# node of that op holds what the bug needs. Its message ("The shapes do not match", "not
# close") is what any other fault in the same node converter says too: a fault that breaks
# the op's common form (a Selu with the default constants, axes all positive) would otherwise
# read as the known bug, and the gate would pass. Where a check cannot tell (no model, an
# operand fed at run time, a shape unknown), it holds, and the message decides as before.


def _attributes(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _nodes(model, *op_types: str) -> list[Any]:
    return [node for node in model.graph.node if node.op_type in op_types]


def _several_axes_with_a_negative(received, op_types: tuple[str, ...], when=None) -> bool:
    """A node of ``op_types`` (whose attributes satisfy ``when``) over several axes, one
    negative, or over axes fed at run time."""
    model = _model(received)
    if model is None:
        return True
    constants = _constants(model)
    for node in _nodes(model, *op_types):
        if when is not None and not when(_attributes(node)):
            continue
        axes = _axes(node, constants)
        if axes is NOT_KNOWN or (axes and len(axes) > 1 and min(axes) < 0):
            return True
    return False


def reduce_axes_with_a_negative(received, produced) -> bool:
    """A ReduceMax, ReduceMin or ReduceProd with keepdims=0 over several axes, one negative:
    onnx2torch reduces them one at a time in sorted order, shifting each by those removed
    before it, the negative ones too."""
    return _several_axes_with_a_negative(received, ("ReduceMax", "ReduceMin", "ReduceProd"),
                                         when=lambda attrs: attrs.get("keepdims", 1) == 0)


def squeeze_axes_with_a_negative(received, produced) -> bool:
    """A Squeeze of several axes, one negative: onnx2torch squeezes them one at a time, and
    reads a negative axis against the rank it has reached."""
    return _several_axes_with_a_negative(received, ("Squeeze",))


def unsqueeze_axes_with_a_negative(received, produced) -> bool:
    """An Unsqueeze of several axes, one negative: as a Squeeze's, one at a time."""
    return _several_axes_with_a_negative(received, ("Unsqueeze",))


def _integer_attribute(received, op_type: str, name: str, default: int, holds) -> bool:
    model = _model(received)
    if model is None:
        return True
    return any(holds(_attributes(node).get(name, default)) for node in _nodes(model, op_type))


def flatten_axis_at_an_end(received, produced) -> bool:
    """A Flatten whose axis is at either end of its input's dims: 0 (or minus the rank), or
    the rank. onnx2torch flattens the dims before the axis into one and then flattens from
    dim 1, which the 1-D tensor it then holds lacks."""
    model = _model(received)
    if model is None:
        return True
    ranks = _ranks(model)
    for node in _nodes(model, "Flatten"):
        axis, rank = _attributes(node).get("axis", 1), ranks.get(node.input[0])
        if axis == 0 or rank is None or abs(axis) == rank:
            return True
    return False


def gather_axis_negative(received, produced) -> bool:
    """A Gather along a negative axis (onnx2pytorch's selection is ``[slice(None)] * axis``)."""
    return _integer_attribute(received, "Gather", "axis", 0, lambda axis: axis < 0)


def max_pool_ceil_mode(received, produced) -> bool:
    """A MaxPool with ceil_mode=1."""
    return _integer_attribute(received, "MaxPool", "ceil_mode", 0, lambda mode: mode == 1)


def conv_transpose_output_shape(received, produced) -> bool:
    """A ConvTranspose that names its output_shape."""
    model = _model(received)
    return model is None or any("output_shape" in _attributes(node)
                                for node in _nodes(model, "ConvTranspose"))


def selu_constants_not_default(received, produced) -> bool:
    """A Selu whose alpha or gamma is not the schema's default (onnx2torch's nn.SELU fixes
    both; it compares as numpy.isclose does)."""
    model = _model(received)
    if model is None:
        return True
    defaults = attribute_defaults("Selu", _opset(model), "")
    for node in _nodes(model, "Selu"):
        attrs = _attributes(node)
        for name in ("alpha", "gamma"):
            default = defaults[name]
            if name in attrs and abs(attrs[name] - default) > 1e-8 + 1e-5 * abs(default):
                return True
    return False


def prelu_slope_read_as_channels(received, produced) -> bool:
    """A PRelu whose slope onnx2torch takes as per channel (its dim 0 the input's dim 1, the
    rest 1) where ONNX broadcasts it from the last axis (its rank not the input's less one),
    or a slope of more than one value on a rank-1 input (onnx2torch reads its dim 1)."""
    model = _model(received)
    if model is None:
        return True
    shapes = _declared_shapes(model)
    for node in _nodes(model, "PRelu"):
        data, slope = shapes.get(node.input[0]), shapes.get(node.input[1])
        if data is None or slope is None or None in slope:
            return True
        if math.prod(slope) <= 1:
            continue
        if len(data) == 1:
            return True
        if data[1] is None:
            return True
        if (slope[0] == data[1] and all(s == 1 for s in slope[1:])
                and len(slope) != len(data) - 1):
            return True
    return False


def _pool_geometry(node, shapes):
    """(spatial dims, kernel, strides, dilations, pads) of a pooling node; None where its
    input's spatial dims are not all known or auto_pad pads it."""
    attrs = _attributes(node)
    shape, kernel = shapes.get(node.input[0]), list(attrs.get("kernel_shape", []))
    if shape is None or not kernel or attrs.get("auto_pad", b"NOTSET") not in (
            b"NOTSET", "NOTSET", b"VALID", "VALID"):
        return None
    rank = len(kernel)
    spatial = shape[2:]
    if len(spatial) != rank or None in spatial:
        return None
    return (spatial, kernel, list(attrs.get("strides", [1] * rank)),
            list(attrs.get("dilations", [1] * rank)), list(attrs.get("pads", [0] * 2 * rank)))


def _padding_only_window(length: int, kernel: int, stride: int, dilation: int, begin: int,
                         end: int, ceil: bool) -> bool:
    span = (kernel - 1) * dilation + 1
    steps = (length + begin + end - span) / stride
    whole = math.floor(steps) + 1
    windows = math.ceil(steps) + 1 if ceil else whole
    for window in range(max(windows, 0)):
        start = window * stride - begin
        if window >= whole and start >= length:
            continue  # ceil_mode's extra window that starts in the end padding is dropped
        if all(not 0 <= start + tap * dilation < length for tap in range(kernel)):
            return True
    return False


def pool_window_of_padding_only(received, produced) -> bool:
    """An AveragePool or MaxPool with a window whose taps all fall on the padding (dilations
    step over the input): a value the ONNX spec leaves undefined."""
    model = _model(received)
    if model is None:
        return True
    shapes = _declared_shapes(model)
    for node in _nodes(model, "AveragePool", "MaxPool"):
        geometry = _pool_geometry(node, shapes)
        if geometry is None:
            return True
        spatial, kernel, strides, dilations, pads = geometry
        rank = len(kernel)
        ceil = _attributes(node).get("ceil_mode", 0) == 1
        if any(_padding_only_window(spatial[i], kernel[i], strides[i], dilations[i], pads[i],
                                    pads[i + rank], ceil) for i in range(rank)):
            return True
    return False


def pool_ceil_mode_overhang_of_two(received, produced) -> bool:
    """An AveragePool or LpPool with ceil_mode=1 whose last window runs two or more places
    past the input and its end padding: onnx's reference evaluator pads that overhang half
    at the start (op_pool_common.get_output_shape_explicit_padding), which moves every
    window."""
    model = _model(received)
    if model is None:
        return True
    shapes = _declared_shapes(model)
    for node in _nodes(model, "AveragePool", "LpPool"):
        if _attributes(node).get("ceil_mode", 0) != 1:
            continue
        geometry = _pool_geometry(node, shapes)
        if geometry is None:
            return True
        spatial, kernel, strides, dilations, pads = geometry
        rank = len(kernel)
        for i in range(rank):
            span = (kernel[i] - 1) * dilations[i] + 1
            padded = spatial[i] + pads[i] + pads[i + rank]
            windows = math.ceil((padded - span) / strides[i]) + 1
            if (windows - 1) * strides[i] >= spatial[i] + pads[i]:
                windows -= 1  # one starting in the end padding is dropped, as ONNX says
            if (windows - 1) * strides[i] + span - padded >= 2:
                return True
    return False


# -- where a reading's own known bug can be: the source's readings (onnxruntime, onnx's
# reference evaluator) each have bugs that only some values of a node meet; an entry about
# one claims a mismatch only where the node holds those values.


def _source_coordinate(mode: str, i: int, length: int, out: int, scale: Fraction):
    """Resize's source coordinate of output pixel ``i`` along one axis, exactly (the ONNX
    spec's formulas in rationals); None for a mode this does not follow."""
    centre = Fraction(2 * i + 1, 2)
    if mode == "half_pixel":
        return centre / scale - Fraction(1, 2)
    if mode == "half_pixel_symmetric":
        adjustment = out / (scale * length)
        return Fraction(length, 2) * (1 - adjustment) + centre / scale - Fraction(1, 2)
    if mode == "pytorch_half_pixel":
        return centre / scale - Fraction(1, 2) if out > 1 else Fraction(0)
    if mode == "asymmetric":
        return i / scale
    if mode == "align_corners":
        return Fraction(0) if out == 1 else Fraction(i * (length - 1), out - 1)
    if mode == "tf_half_pixel_for_nn":
        return centre / scale
    return None


def _resize_geometry(node, shapes, constants, opset: int):
    """Per axis, (input length, output length, exact scale); None where the dims it resizes,
    the scales or sizes, or the output lengths are not known here."""
    attrs = _attributes(node)
    shape = shapes.get(node.input[0])
    if shape is None:
        return None
    operands = list(node.input) + ["", "", ""]
    scales_name, sizes_name = (operands[1], "") if opset < 11 else (operands[2], operands[3])
    axes = [a % len(shape) for a in attrs.get("axes", range(len(shape)))]
    if sizes_name:
        if sizes_name not in constants or _text(attrs.get("keep_aspect_ratio_policy",
                                                          "stretch")) != "stretch":
            return None
        sizes = [int(v) for v in constants[sizes_name].reshape(-1)]
        if any(shape[a] is None for a in axes):
            return None
        return [(shape[a], out, Fraction(out, shape[a])) for a, out in zip(axes, sizes)
                if shape[a] > 0]
    if scales_name not in constants:
        return None
    scales = [Fraction(float(v)) for v in constants[scales_name].reshape(-1)]
    if any(shape[a] is None and scale != 1 for a, scale in zip(axes, scales)):
        return None  # a free batch is never resized
    return [(shape[a], math.floor(shape[a] * scale), scale) for a, scale in zip(axes, scales)
            if scale > 0 and shape[a] is not None]


def resize_nearest_floor_on_a_whole_coordinate(received, produced) -> bool:
    """A nearest Resize with nearest_mode floor where some output pixel's source coordinate
    is exactly a whole pixel past the first: onnxruntime computes the coordinate in float32
    and can land just below it (7 to 1 pixel, half_pixel: 3.0 as 2.9999998), and floor then
    takes the pixel before."""
    model = _model(received)
    if model is None:
        return True
    shapes, constants, opset = _declared_shapes(model), _constants(model), _opset(model)
    for node in _nodes(model, "Resize"):
        attrs = _attributes(node)
        if _text(attrs.get("mode", "nearest")) != "nearest" or _text(
                attrs.get("nearest_mode", "round_prefer_floor")) != "floor":
            continue
        mode = _text(attrs.get("coordinate_transformation_mode",
                               "asymmetric" if opset < 11 else "half_pixel"))
        geometry = _resize_geometry(node, shapes, constants, opset)
        if geometry is None:
            return True
        for length, out, scale in geometry:
            for i in range(out):
                x = _source_coordinate(mode, i, length, out, scale)
                if x is None or (x.denominator == 1 and 0 < x <= length - 1):
                    return True
    return False


def shape_end_wraps_past_the_front(received, produced) -> bool:
    """A Shape whose end, counted from the back, lies before the front by less than the rank
    (-2 rank < end < -rank): ONNX clamps it to 0, and a Python slice counts it from the back
    again (onnx's reference Shape, shape[start : rank + end])."""
    model = _model(received)
    if model is None:
        return True
    ranks = _ranks(model)
    for node in _nodes(model, "Shape"):
        rank = ranks.get(node.input[0])
        end = _attributes(node).get("end")
        if end is not None and (rank is None or -2 * rank < end < -rank):
            return True
    return False


def cast_to_float16_read_by_a_node(received, produced) -> bool:
    """A Cast to float16 whose output another node reads: where that node has no float16
    kernel on onnxruntime's CPU provider, the Cast onnxruntime puts before it (back to
    float32) cancels the model's own, and the float16 rounding is lost."""
    model = _model(received)
    if model is None:
        return True
    readers = _readers(model)
    return any(_attributes(node).get("to") == FLOAT16
               and any(reader.op_type != "Cast" for reader in readers.get(node.output[0], []))
               for node in _nodes(model, "Cast"))


def resize_scale_just_short(received, produced) -> bool:
    """A Resize by constant scales whose scale puts an output length a hair below a whole
    number (float32(5 / 3) x 3 = 4.9999999): ONNX floors it to the length before. tf2onnx
    writes such scales for a static input, where it knows the sizes. Read in the model the
    stage was given and in the one it wrote."""
    models = [m for m in (_model(received), _model(produced)) if m is not None]
    if not models:
        return True
    for model in models:
        shapes, constants, opset = _declared_shapes(model), _constants(model), _opset(model)
        for node in _nodes(model, "Resize"):
            operands = [*node.input, "", "", ""]
            if opset >= 11 and operands[3]:
                continue  # by sizes
            geometry = _resize_geometry(node, shapes, constants, opset)
            if geometry is None:
                return True
            for length, _, scale in geometry:
                product = length * scale
                if product.denominator != 1 and math.ceil(product) - product < \
                        SHORT_BY * product:
                    return True
    return False



def max_unpool_output_shape_not_inferred(received, produced) -> bool:
    """A MaxUnpool given an output_shape whose dims after the batch differ from the shape
    its kernel, strides and pads infer: its indices are flat over the output_shape, and onnx's
    reference MaxUnpool scatters them over the inferred shape (op_max_unpool.py) before
    copying that into a corner of the output."""
    model = _model(received)
    if model is None:
        return True
    shapes, constants = _declared_shapes(model), _constants(model)
    for node in _nodes(model, "MaxUnpool"):
        if len(node.input) < 3 or not node.input[2]:
            continue
        shape = shapes.get(node.input[0])
        if node.input[2] not in constants or shape is None or None in shape:
            return True
        attrs = _attributes(node)
        kernel = list(attrs.get("kernel_shape", []))
        rank = len(kernel)
        strides = list(attrs.get("strides", [1] * rank))
        pads = list(attrs.get("pads", [0] * 2 * rank))
        inferred = [shape[1], *((shape[2 + i] - 1) * strides[i] - pads[i] - pads[rank + i]
                                + kernel[i] for i in range(rank))]
        if [int(d) for d in constants[node.input[2]].reshape(-1)[1:]] != inferred:
            return True
    return False


NORMALIZATIONS = ("BatchNormalization", "InstanceNormalization", "LayerNormalization",
                  "GroupNormalization", "RMSNormalization")


def epsilon_left_to_default(received, produced) -> bool:
    """A normalization node without an epsilon attribute: ONNX's default is the float32
    1e-5 (an attribute's float is 32-bit), 9.99999975e-6."""
    model = _model(received)
    return model is None or any("epsilon" not in _attributes(node)
                                for node in _nodes(model, *NORMALIZATIONS))


CHECKS: dict[str, Check] = {
    "shape-slice-out-of-range": shape_slice_out_of_range,
    "fed-operand-shape-invented": fed_operand_shape_invented,
    "fed-input-dropped": fed_input_dropped,
    "matmul-constant-first": matmul_constant_first,
    "split-into-one": split_into_one,
    "graph-outputs-not-whole-nodes": graph_outputs_not_whole_nodes,
    "layer-norm-chain-misread": layer_norm_chain_misread,
    "nms-score-threshold-omitted": nms_score_threshold_omitted,
    "nms-score-threshold-given": nms_score_threshold_given,
    "onehot-axis-inside-channel-last": onehot_axis_inside_channel_last,
    "conv-scale-not-per-channel": conv_scale_not_per_channel,
    "onehot-negative-axis-kept-layout": onehot_negative_axis_kept_layout,
    "matmul-bias-expands-output": matmul_bias_expands_output,
    "reshape-of-reshape-copies-a-dim": reshape_of_reshape_copies_a_dim,
    "fed-shape-operand": fed_shape_operand,
    "squeeze-of-squeeze-negative-axes": squeeze_of_squeeze_negative_axes,
    "zero-pad-before-maxpool": zero_pad_before_maxpool,
    "resize-with-axes": resize_with_axes,
    "reduce-axes-with-a-negative": reduce_axes_with_a_negative,
    "squeeze-axes-with-a-negative": squeeze_axes_with_a_negative,
    "unsqueeze-axes-with-a-negative": unsqueeze_axes_with_a_negative,
    "flatten-axis-at-an-end": flatten_axis_at_an_end,
    "gather-axis-negative": gather_axis_negative,
    "max-pool-ceil-mode": max_pool_ceil_mode,
    "conv-transpose-output-shape": conv_transpose_output_shape,
    "selu-constants-not-default": selu_constants_not_default,
    "prelu-slope-read-as-channels": prelu_slope_read_as_channels,
    "pool-window-of-padding-only": pool_window_of_padding_only,
    "pool-ceil-mode-overhang-of-two": pool_ceil_mode_overhang_of_two,
    "resize-nearest-floor-on-a-whole-coordinate": resize_nearest_floor_on_a_whole_coordinate,
    "shape-end-wraps-past-the-front": shape_end_wraps_past_the_front,
    "cast-to-float16-read-by-a-node": cast_to_float16_read_by_a_node,
    "epsilon-left-to-default": epsilon_left_to_default,
    "resize-scale-just-short": resize_scale_just_short,
    "max-unpool-output-shape-not-inferred": max_unpool_output_shape_not_inferred,
}


def holds(name: str, received, produced) -> bool:
    return CHECKS[name](received, produced)
