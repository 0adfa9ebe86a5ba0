"""Where a rewriter's known bug can be at all: the motif its cause needs.

A ``where`` check: an entry that names one claims a failure only where its motif is in the
model the stage was given, so a fault elsewhere in the same graph, or the same message from
another pass (an IndexError, "The shapes do not match"), stays a failure."""

from __future__ import annotations

from harness.core.structure import models
from harness.core.structure.stage_rewrites import FED_SHAPE_OPERANDS


def fed_shape_operand(received, produced) -> bool:
    """The received model has a Squeeze, Split or Unsqueeze whose axes or split are fed at
    run time (a graph input): the operand a rewriter's shape inference may read as absent."""
    model = models.model_of(received)
    if model is None:
        return False
    fed = models.fed_inputs(model)
    return any((at := FED_SHAPE_OPERANDS.get(node.op_type)) is not None
               and len(node.input) > at and node.input[at] in fed
               for node in model.graph.node)


def squeeze_of_squeeze_negative_axes(received, produced) -> bool:
    """The received model has a Squeeze of another Squeeze's output whose axes hold a
    negative one: merged, a negative first axis is shifted without the rank
    (onnxoptimizer's fuse_consecutive_squeezes)."""
    model = models.model_of(received)
    if model is None:
        return False
    constants = models.constants(model)
    for first, _second in models.fed_by(model, "Squeeze", "Squeeze"):
        axes = models.axes_of(first, constants)
        if axes is None or axes is models.NOT_KNOWN or any(a < 0 for a in axes):
            return True
    return False


def zero_pad_before_maxpool(received, produced) -> bool:
    """The received model has a MaxPool reading a Pad in constant mode whose value is 0 (or
    absent, or not known until run time): folded into the MaxPool's own pads, which stand
    for -inf (onnxoptimizer's fuse_pad_into_pool)."""
    model = models.model_of(received)
    if model is None:
        return False
    constants = models.constants(model)
    for pad, _pool in models.fed_by(model, "Pad", "MaxPool"):
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
    model = models.model_of(received)
    return model is not None and any(
        node.op_type == "Resize" and any(node.input[2:4])
        and any(a.name == "axes" for a in node.attribute) for node in model.graph.node)


def slice_read_by_a_slice_without_steps(received, produced) -> bool:
    """The received model has a Slice whose output two or more Slices read, one of which
    leaves its optional steps out (or axes too): merging every reader, a rewriter that
    indexes each reader's steps reads past its inputs (onnxslim's EliminationSlice)."""
    model = models.model_of(received)
    if model is None:
        return False
    readers = models.readers(model)
    for node in models.nodes(model, "Slice"):
        sliced = [reader for reader in readers.get(node.output[0], [])
                  if reader.op_type == "Slice"]
        if len(sliced) > 1 and any(len(reader.input) < 5 or not reader.input[4]
                                   for reader in sliced):
            return True
    return False
