"""Checks of what a stage changed: the model it was given (``received``) against the one it
wrote (``produced``), for entries that name one as ``structure`` (and some as ``where``)."""

from __future__ import annotations

from typing import Any

from harness.core.structure import models

# op type -> the input whose value decides its outputs' shapes
FED_SHAPE_OPERANDS = {"Squeeze": 1, "Split": 1, "Unsqueeze": 1}


def fed_operand_shape_invented(received, produced) -> bool:
    """The produced model declares a shape for an output of a Squeeze, Split or Unsqueeze
    whose axes or split are fed at run time (a graph input of the received model) that
    the received model could not know: a dim where its own shape inference has none, or
    a rank where it has no shape. The rewriter read the fed operand as absent."""
    received, produced = models.model_of(received), models.model_of(produced)
    if received is None or produced is None:
        return False
    graph_inputs = models.fed_inputs(received)
    declared = models.typed_shapes(produced)
    if _invented(_fed_operand_outputs(received, graph_inputs), models.inferred(received),
                 declared):
        return True
    # A rewriter may rename the output (a Squeeze that now writes the graph output an identity
    # Transpose wrote): by its name in the produced model, against what inference of that
    # model, its declarations cleared, and the received model's own declarations know.
    known = {**models.inferred(models.undeclared(produced)), **models.typed_shapes(received)}
    return _invented(_fed_operand_outputs(produced, graph_inputs), known, declared)


def _fed_operand_outputs(model, fed: set[str]) -> list[str]:
    return [out for node in model.graph.node
            if (at := FED_SHAPE_OPERANDS.get(node.op_type)) is not None
            and len(node.input) > at and node.input[at] in fed for out in node.output]


def _invented(outputs: list[str], known: dict[str, tuple], declared: dict[str, tuple]) -> bool:
    for name in outputs:
        if name not in declared:
            continue
        before = known.get(name)
        if before is None or len(before) != len(declared[name]):
            return True
        if any(b is None and d for b, d in zip(before, declared[name])):
            return True
    return False


def fed_input_dropped(received, produced) -> bool:
    """The produced model no longer takes a graph input that the received model is fed:
    a caller feeding the model's inputs is refused, whatever the rewrite that left the input
    unused (a Reshape's shape replaced by a constant, a Dropout's ratio removed with it)."""
    before, after = models.model_of(received), models.model_of(produced)
    if before is None or after is None:
        return False
    return bool(models.fed_inputs(before) - {i.name for i in after.graph.input})


def matmul_constant_first(received, produced) -> bool:
    """The received model has a MatMul whose first operand is a constant (an initializer or
    a Constant node's output) and whose second is not: W @ x, which a converter that turns
    every constant MatMul into a Linear computes as x @ W."""
    model = models.model_of(received)
    if model is None:
        return False
    constants = {t.name for t in model.graph.initializer} | {
        out for n in model.graph.node if n.op_type == "Constant" for out in n.output}
    constants -= models.fed_inputs(model)
    return any(n.op_type == "MatMul" and n.input[0] in constants
               and n.input[1] not in constants for n in model.graph.node)


def split_into_one(received, produced) -> bool:
    """The received model has a Split with a single output (the whole axis in one part)."""
    model = models.model_of(received)
    return model is not None and any(n.op_type == "Split" and len(n.output) == 1
                                     for n in model.graph.node)


def shape_slice_out_of_range(received, produced) -> bool:
    """The received model has a Shape whose start or end, a negative one counted from the
    rank, falls outside [0, rank], or whose end comes before its start: Shape-15 clamps them,
    and a rewriter that indexes the dims without clamping reads past them."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks = models.ranks(model)
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
    order than the node's, or one value listed twice; or a graph output no node produces (a
    graph input passed through, an initializer). A converter that returns each graph
    output's producing node, deduplicated, returns something else there, or finds none."""
    model = models.model_of(received)
    if model is None:
        return False
    producer = {out: index for index, node in enumerate(model.graph.node)
                for out in node.output}
    wanted = [value.name for value in model.graph.output]
    if any(name not in producer for name in wanted):
        return True
    nodes = list(dict.fromkeys(producer[name] for name in wanted))
    returned = [out for index in nodes for out in model.graph.node[index].output if out]
    return returned != wanted


def graph_output_an_initializer(received, produced) -> bool:
    """A graph output of the received model is an initializer (a constant no node computes:
    what a constant-folding rewriter leaves of a branch that computed one)."""
    model = models.model_of(received)
    if model is None:
        return False
    constant = {t.name for t in model.graph.initializer}
    return any(value.name in constant for value in model.graph.output)


def graph_output_reshaped_for_a_lost_squeeze(received, produced) -> bool:
    """A graph output of either model is written by a Reshape to a constant shape that starts
    with 1 and copies a dimension (a 0): the shape tf2onnx's ReshapeOptimizer gives a Reshape
    it shifts to line up equal dimensions, followed by a Squeeze of the leading axes, which it
    drops where the Reshape writes a graph output (Graph.insert_node_on_output rewires the
    Reshape's consumers, not the graph's outputs), so the output keeps a leading 1."""
    for artifact in (received, produced):
        model = models.model_of(artifact)
        if model is None:
            continue
        constants = models.constants(model)
        producer = {out: node for node in model.graph.node for out in node.output}
        for value in model.graph.output:
            node = producer.get(value.name)
            if node is None or node.op_type != "Reshape" or len(node.input) < 2:
                continue
            shape = constants.get(node.input[1])
            dims = [] if shape is None else [int(d) for d in shape.ravel()]
            if len(dims) > 1 and dims[0] == 1 and 0 in dims[1:] \
                    and not models.attributes(node).get("allowzero", 0):
                return True
    return False


def calls_a_local_function(received, produced) -> bool:
    """A node of the received model, in its graph or a nested one, calls a function the model
    defines (``ModelProto.functions``, IR 8 and later: what ``torch.onnx.export(...,
    export_modules_as_functions=...)`` and onnxscript write). A converter that looks each
    node's op up in its own registry finds no converter for it."""
    model = models.model_of(received)
    return model is not None and bool(models.local_function_calls(model))


def _layer_norm_chains(received) -> list[tuple[bool, bool]]:
    """Each decomposed layer norm ReduceMean > Sub > Pow > ReduceMean > Add > Sqrt > Div of
    the received model as (misread, epsilon first): misread where onnxruntime's
    LayerNormFusion takes an operand it does not check (a Pow exponent other than 2, the mean
    minus x, the Div reversed as sqrt / d); epsilon first where the Add takes the epsilon as
    its first operand (the fusion before onnxruntime 1.32 read the second)."""
    model = models.model_of(received)
    if model is None:
        return []
    made = {out: node for node in model.graph.node for out in node.output}
    readers = models.readers(model)
    constants = models.constants(model)

    def read_by(name: str, op: str) -> list[Any]:
        return [node for node in readers.get(name, []) if node.op_type == op]

    chains = []
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
                        misread = (exponent is None or exponent.size != 1
                                   or float(exponent) != 2.0 or mean_first
                                   or div.input[0] == root.output[0])
                        chains.append((misread, add.input[0] != variance.output[0]))
    return chains


def layer_norm_chain_misread(received, produced) -> bool:
    """The received model holds a decomposed layer norm with an operand that onnxruntime's
    LayerNormFusion does not check: a Pow exponent other than 2, the mean subtracted from
    (mean - x), or the Div reversed (sqrt / d)."""
    return any(misread for misread, _ in _layer_norm_chains(received))


def layer_norm_epsilon_first(received, produced) -> bool:
    """The received model holds a decomposed layer norm whose Add takes the epsilon as its
    first operand, which LayerNormFusion before onnxruntime 1.32 did not read (it took the
    second, or its 1e-5 default)."""
    return any(first for _, first in _layer_norm_chains(received))


def _score_thresholds(model) -> list[str]:
    """Each NonMaxSuppression's score_threshold operand, "" where it is omitted."""
    return [(list(node.input) + [""] * 5)[4] for node in model.graph.node
            if node.op_type == "NonMaxSuppression"]


def nms_score_threshold_omitted(received, produced) -> bool:
    """The received model has a NonMaxSuppression without a score_threshold (no box is
    removed by its score)."""
    model = models.model_of(received)
    return model is not None and "" in _score_thresholds(model)


def nms_score_threshold_given(received, produced) -> bool:
    """The received model has a NonMaxSuppression given a score_threshold."""
    model = models.model_of(received)
    return model is not None and any(_score_thresholds(model))


def _onehots(received) -> list[tuple[int, int]]:
    """(indices rank, axis) of each OneHot of the received model whose indices' rank is
    known; the axis as written, -1 where it is left out."""
    model = models.model_of(received)
    if model is None:
        return []
    ranks = models.ranks(model)
    return [(ranks[node.input[0]], next((a.i for a in node.attribute if a.name == "axis"), -1))
            for node in model.graph.node
            if node.op_type == "OneHot" and node.input[0] in ranks]


def onehot_axis_inside_channel_last(received, produced) -> bool:
    """The received model has a OneHot of indices of rank 3 or more (a tensor onnx2tf keeps
    channel-last) whose new axis is not the last one."""
    return any(rank >= 3 and axis % (rank + 1) != rank for rank, axis in _onehots(received))


def topk_fed_k_on_channel_last(received, produced) -> bool:
    """The received model has a TopK of a tensor of rank 3 or more (one onnx2tf keeps
    channel-last) whose K is fed at run time (a graph input, which onnx2tf keeps as ONNX
    lays it out)."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks, fed = models.ranks(model), models.fed_inputs(model)
    return any(node.op_type == "TopK" and len(node.input) > 1 and node.input[1] in fed
               and ranks.get(node.input[0], 0) >= 3 for node in model.graph.node)


def gather_drops_the_batch_on_channel_last(received, produced) -> bool:
    """The received model has a Gather along axis 0 (the batch) of a tensor of rank 3 or
    more (one onnx2tf keeps channel-last) with a scalar index, which drops that axis: what is
    left keeps the channel-last order of the input, not one onnx2tf's outputs are read in."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks, constants = models.ranks(model), models.constants(model)
    for node in model.graph.node:
        if node.op_type != "Gather" or node.domain not in ("", "ai.onnx"):
            continue
        rank = ranks.get(node.input[0], 0)
        axis = models.attributes(node).get("axis", 0)
        index = constants.get(node.input[1])
        if rank >= 3 and axis in (0, -rank) and index is not None and index.ndim == 0:
            return True
    return False


def gathernd_past_the_batch_on_channel_last(received, produced) -> bool:
    """The received model has a GatherND of data of rank 3 or more that is computed or fed
    (a tensor onnx2tf keeps channel-last; a constant it leaves as it is) whose batch_dims
    and index depth reach past the batch axis: its indices then address ONNX's order in a
    tensor held in another."""
    model = models.model_of(received)
    if model is None:
        return False
    shapes, constants = models.declared_shapes(model), models.constants(model)
    for node in models.nodes(model, "GatherND"):
        data, indices = node.input[0], node.input[1]
        depth = (shapes.get(indices) or (None,))[-1]
        batch_dims = models.attributes(node).get("batch_dims", 0)
        if len(shapes.get(data, ())) >= 3 and data not in constants \
                and (depth is None or batch_dims + depth >= 2):
            return True
    return False


def _slice_steps(received, produced, holds) -> bool:
    """The model the stage wrote (else the one it was given) has a Slice whose steps, a
    constant, hold one step that ``holds``: a torch exporter writes onnx2torch's slicing
    module as such a Slice, and onnx2tf reads the one it is given."""
    model = models.model_of(produced) or models.model_of(received)
    if model is None:
        return False
    constants = models.constants(model)
    for node in models.nodes(model, "Slice"):
        steps = constants.get(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if steps is not None and any(holds(int(step)) for step in steps.ravel()):
            return True
    return False


def slice_with_a_negative_step(received, produced) -> bool:
    """A Slice with a negative constant step."""
    return _slice_steps(received, produced, lambda step: step < 0)


def slice_with_a_step_not_one(received, produced) -> bool:
    """A Slice with a constant step other than 1 (negative, or above 1)."""
    return _slice_steps(received, produced, lambda step: step != 1)


def det_of_rank_four_or_more(received, produced) -> bool:
    """The received model has a Det of a tensor of rank 4 or more, which onnx2tf keeps
    channel-last (its last two axes are then not ONNX's matrix axes)."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks = models.ranks(model)
    return any(ranks.get(node.input[0], 0) >= 4 for node in models.nodes(model, "Det"))


def slice_axes_fed(received, produced) -> bool:
    """The received model has a Slice whose axes are fed at run time (a graph input), which
    onnx2tf cannot map to the axes of its channel-last tensors while it converts."""
    model = models.model_of(received)
    if model is None:
        return False
    fed = models.fed_inputs(model)
    return any(len(node.input) > 3 and node.input[3] in fed
               for node in models.nodes(model, "Slice"))


def conv_weight_fed(received, produced) -> bool:
    """The received model has a Conv or ConvTranspose whose weight is fed at run time (a graph
    input), which onnx2tf reads as a constant's producer that is not there."""
    model = models.model_of(received)
    if model is None:
        return False
    fed = models.fed_inputs(model)
    return any(len(node.input) > 1 and node.input[1] in fed
               for node in models.nodes(model, "Conv", "ConvTranspose"))


def expand_fed_to_a_higher_rank(received, produced) -> bool:
    """The received model expands a tensor of rank 3 or more by a shape fed at run time (a
    graph input) that holds more dims than the tensor has: onnx2tf declares the output with
    the input's rank."""
    model = models.model_of(received)
    if model is None:
        return False
    fed, shapes = models.fed_inputs(model), models.declared_shapes(model)
    for node in models.nodes(model, "Expand"):
        if len(node.input) < 2 or node.input[1] not in fed:
            continue
        data, shape = shapes.get(node.input[0]), shapes.get(node.input[1])
        if data is not None and shape and len(data) >= 3 and (shape[0] or 0) > len(data):
            return True
    return False


def fed_inputs_of_different_ranks(received, produced) -> bool:
    """The received model has a node that takes two graph inputs fed at run time whose ranks
    differ, one of rank 3 or more: onnx2tf keeps that one channel-last and broadcasts the
    other against its moved axes."""
    model = models.model_of(received)
    if model is None:
        return False
    fed, ranks = models.fed_inputs(model), models.ranks(model)
    for node in model.graph.node:
        taken = {ranks[name] for name in node.input if name in fed and name in ranks}
        if len(taken) > 1 and max(taken) >= 3:
            return True
    return False


def max_unpool_of_more_than_one_channel(received, produced) -> bool:
    """The received model has a MaxUnpool of an input with more than one channel: its
    indices count over (N, C, spatial), in ONNX's order, which onnx2tf's channel-last
    tensor does not keep."""
    model = models.model_of(received)
    if model is None:
        return False
    shapes = models.declared_shapes(model)
    return any(len(dims := shapes.get(node.input[0], ())) >= 3 and (dims[1] or 0) > 1
               for node in models.nodes(model, "MaxUnpool"))


ARITHMETIC = ("Add", "Sub", "Mul", "Div")


def _constant_operands(model):
    """Each Add, Sub, Mul or Div with a constant operand (an initializer, or an elementwise op
    of one that a converter folds: the Sqrt of a variance): the constant's shape and the other
    operand's dims (known or inferred), where both are there."""
    constants, shapes = _constant_shapes(model), models.declared_shapes(model)
    for node in models.nodes(model, *ARITHMETIC):
        if len(node.input) != 2:
            continue
        for mine, other in (node.input, reversed(node.input)):
            if mine in constants and other not in constants and other in shapes:
                yield constants[mine], shapes[other]


def _constant_shapes(model) -> dict[str, tuple[int, ...]]:
    """Per name, the shape of each constant and of each elementwise op of one alone."""
    found = {name: tuple(value.shape) for name, value in models.constants(model).items()}
    for node in model.graph.node:  # in the graph's order: a chain of them too
        if node.op_type in FOLDED_ELEMENTWISE and len(node.input) == 1 \
                and node.input[0] in found:
            found[node.output[0]] = found[node.input[0]]
    return found


# One-input elementwise ops whose output, from a constant, is a constant of its shape.
FOLDED_ELEMENTWISE = frozenset({"Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log", "Relu",
                                "Sigmoid", "Tanh", "Cast", "Identity", "Floor", "Ceil"})


def constant_of_rank_three_over_space(received, produced) -> bool:
    """The received model adds, subtracts, multiplies or divides a tensor of rank 4 or more
    by a constant of rank 3 or more with a dimension above 1 on a spatial axis (right-aligned:
    a (C, H, W), (1, H, W) or (1, 1, W) bias or scale): onnx2tf, which keeps the tensor
    channel-last, lays such a constant out with its spatial axes in another order."""
    model = models.model_of(received)
    if model is None:
        return False
    for constant, other in _constant_operands(model):
        rank = len(other)
        if rank >= 4 and len(constant) >= 3:
            spatial = constant[max(0, len(constant) - rank + 2):]
            if any(d > 1 for d in spatial):
                return True
    return False


def per_channel_constant_beside_a_unit_or_channel_sized_axis(received, produced) -> bool:
    """The received model subtracts, multiplies or divides a tensor of rank 4 or more by a
    per-channel constant where a dimension of the tensor misleads onnx2tf, which keeps it
    channel-last and decides whether to move the constant's axes by comparing shapes: a
    (C, 1, ..., 1) constant where the first spatial dimension is 1 or C, a (1, C, 1, ..., 1)
    one where the last is 1 and the batch or another spatial one is not (as measured on
    rank 4)."""
    model = models.model_of(received)
    if model is None:
        return False
    for constant, other in _constant_operands(model):
        rank = len(other)
        if rank < 4 or len(constant) not in (rank - 1, rank):
            continue
        at = len(constant) - rank + 1
        channels = constant[at]
        if channels < 2 or any(d != 1 for i, d in enumerate(constant) if i != at) \
                or other[1] not in (channels, None):
            continue
        if len(constant) == rank - 1 and other[2] in (1, channels):
            return True
        if len(constant) == rank and other[-1] == 1 \
                and any(d != 1 for d in (other[0], *other[2:-1])):
            return True
    return False


def square_input_after_the_batch(received, produced) -> bool:
    """The received model is fed an input of rank 3 or more whose dimensions after the batch
    are all equal: its channel-last form has the same shape, which onnx2tf reads as an input
    it did not transpose (ops/Input.py compares the two shapes)."""
    model = models.model_of(received)
    if model is None:
        return False
    shapes = models.declared_shapes(model)
    for name in models.fed_inputs(model):
        dims = shapes.get(name, ())
        if len(dims) >= 3 and None not in dims[1:] and len(set(dims[1:])) == 1:
            return True
    return False


def lp_pool_not_euclidean_over_two_axes(received, produced) -> bool:
    """The received model has a GlobalLpPool that tf.norm does not compute as ONNX does:
    any p but 2, or an input with other than two spatial axes (rank 4)."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks = models.ranks(model)
    return any(models.attributes(node).get("p", 2) != 2 or ranks.get(node.input[0], 4) != 4
               for node in models.nodes(model, "GlobalLpPool"))


def mvn_of_rank_two_off_the_batch(received, produced) -> bool:
    """The received model has a MeanVarianceNormalization of an input of rank 1 or 2 over
    other axes than the first alone: onnx2tf takes its moments over axis 0 whatever the axes
    say below rank 3 (ops/MeanVarianceNormalization.py)."""
    model = models.model_of(received)
    if model is None:
        return False
    ranks = models.ranks(model)
    for node in models.nodes(model, "MeanVarianceNormalization"):
        rank = ranks.get(node.input[0])
        if rank is None or rank > 2:
            continue
        axes = models.attributes(node).get("axes", [0, 2, 3])
        if {axis % rank for axis in axes} != {0}:
            return True
    return False


def outputs_inferred_otherwise(received, produced) -> bool:
    """The received model declares an output with a fixed dimension that onnx's shape
    inference, run on the model with its output shapes cleared, sizes otherwise: a rewriter
    that types its outputs by inference writes the inferred one."""
    import onnx

    model = models.model_of(received)
    if model is None:
        return False
    try:
        inferred = onnx.shape_inference.infer_shapes(models.undeclared(model, inner=False),
                                                     data_prop=True)
    except Exception:  # noqa: BLE001 (a model inference refuses: the check cannot tell)
        return False
    for declared, typed in zip(model.graph.output, inferred.graph.output):
        want = declared.type.tensor_type.shape.dim
        got = typed.type.tensor_type.shape.dim
        if len(want) == len(got) and any(
                w.HasField("dim_value") and g.HasField("dim_value") and w.dim_value != g.dim_value
                for w, g in zip(want, got)):
            return True
    return False


def conv_scale_not_per_channel(received, produced) -> bool:
    """The received model has a Conv or ConvTranspose (constant weights, its one reader) >
    Mul by a constant whose values, squeezed, are as many as the weight's output-channel
    axis holds, but which does not broadcast along the channel axis: a (C,) constant that
    scales the last axis, a (C, 1, 1, 1) one that adds a leading axis. onnxslim's
    FusionConvMul folds such a constant into the weights as a per-channel scale."""
    model = models.model_of(received)
    if model is None:
        return False
    constants = models.constants(model)
    readers = models.readers(model)
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


def _matmul_biases(model):
    """Each MatMul by a constant matrix read by an Add alone of a constant: the product's
    shape (known) and the constant's, as onnx2pytorch's Linear fusion and onnxslim's
    FusionGemm find them."""
    constants = models.constants(model)
    shapes = {**models.inferred(model), **models.typed_shapes(model)}
    readers = models.readers(model)
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
        if bias is not None:
            yield tuple(product), tuple(bias.shape)


def matmul_bias_expands_output(received, produced) -> bool:
    """The received model has a MatMul by a constant matrix, read by an Add alone whose
    constant operand broadcasts the product to a larger shape (a (B, N) bias on a (B, 1, N)
    or (1, N) product). onnxslim's FusionGemm flattens a batched product to (M, N) for a Gemm
    and checks the bias against that, so the expansion is lost; onnx2pytorch makes the bias
    a Linear's, which torch adds into the product's own shape."""
    model = models.model_of(received)
    if model is None:
        return False
    return any((widened := _broadcast(product, bias)) is not None and widened != product
               for product, bias in _matmul_biases(model))


def matmul_bias_not_a_linear_bias(received, produced) -> bool:
    """As ``matmul_bias_expands_output``, or the bias is one torch's Linear cannot take
    whole: of rank 3 or more with one dimension above 1 (a (1, 1, N) or (1, M, 1) one), which
    torch's linear adds to the product flattened to (M, N) by ``addmm`` and cannot expand
    there (as measured on torch 2.15: a bias with two dims above 1 takes the unfused add)."""
    model = models.model_of(received)
    if model is None:
        return False
    for product, bias in _matmul_biases(model):
        widened = _broadcast(product, bias)
        if widened is not None and widened != product:
            return True
        if len(bias) >= 3 and sum(d != 1 for d in bias) == 1:
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
    model = models.model_of(received)
    if model is None:
        return False
    constants = models.constants(model)
    made = {out: node for node in model.graph.node for out in node.output}
    readers = models.readers(model)
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
