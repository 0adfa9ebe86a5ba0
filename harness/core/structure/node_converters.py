"""Where a node converter's known bug can be: the node and the values its cause needs.

An entry about how onnx2torch or onnx2pytorch converts one op claims a failure only where a
node of that op holds what the bug needs. Its message ("The shapes do not match", "not
close") is what any other fault in the same node converter says too: a fault that breaks
the op's common form (a Selu with the default constants, axes all positive) would otherwise
read as the known bug, and the gate would pass. Where a check cannot tell (no model, an
operand fed at run time, a shape unknown), it holds, and the message decides as before."""

from __future__ import annotations

import math

from harness.core.onnx_schema import attribute_defaults
from harness.core.structure import models


def _several_axes_with_a_negative(received, op_types: tuple[str, ...], when=None) -> bool:
    """A node of ``op_types`` (whose attributes satisfy ``when``) over several axes, one
    negative, or over axes fed at run time."""
    model = models.model_of(received)
    if model is None:
        return True
    constants = models.constants(model)
    for node in models.nodes(model, *op_types):
        if when is not None and not when(models.attributes(node)):
            continue
        axes = models.axes_of(node, constants)
        if axes is models.NOT_KNOWN or (axes and len(axes) > 1 and min(axes) < 0):
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
    model = models.model_of(received)
    if model is None:
        return True
    return any(holds(models.attributes(node).get(name, default)) for node in models.nodes(model, op_type))


def flatten_axis_at_an_end(received, produced) -> bool:
    """A Flatten whose axis is at either end of its input's dims: 0 (or minus the rank), or
    the rank. onnx2torch flattens the dims before the axis into one and then flattens from
    dim 1, which the 1-D tensor it then holds lacks."""
    model = models.model_of(received)
    if model is None:
        return True
    ranks = models.ranks(model)
    for node in models.nodes(model, "Flatten"):
        axis, rank = models.attributes(node).get("axis", 1), ranks.get(node.input[0])
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
    model = models.model_of(received)
    return model is None or any("output_shape" in models.attributes(node)
                                for node in models.nodes(model, "ConvTranspose"))


def selu_constants_not_default(received, produced) -> bool:
    """A Selu whose alpha or gamma is not the schema's default (onnx2torch's nn.SELU fixes
    both; it compares as numpy.isclose does)."""
    model = models.model_of(received)
    if model is None:
        return True
    defaults = attribute_defaults("Selu", models.opset_of(model), "")
    for node in models.nodes(model, "Selu"):
        attrs = models.attributes(node)
        for name in ("alpha", "gamma"):
            default = defaults[name]
            if name in attrs and abs(attrs[name] - default) > 1e-8 + 1e-5 * abs(default):
                return True
    return False


def prelu_slope_read_as_channels(received, produced) -> bool:
    """A PRelu whose slope onnx2torch takes as per channel (its dim 0 the input's dim 1, the
    rest 1) where ONNX broadcasts it from the last axis (its rank not the input's less one),
    or a slope of more than one value on a rank-1 input (onnx2torch reads its dim 1)."""
    model = models.model_of(received)
    if model is None:
        return True
    shapes = models.declared_shapes(model)
    for node in models.nodes(model, "PRelu"):
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
    attrs = models.attributes(node)
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
    model = models.model_of(received)
    if model is None:
        return True
    shapes = models.declared_shapes(model)
    for node in models.nodes(model, "AveragePool", "MaxPool"):
        geometry = _pool_geometry(node, shapes)
        if geometry is None:
            return True
        spatial, kernel, strides, dilations, pads = geometry
        rank = len(kernel)
        ceil = models.attributes(node).get("ceil_mode", 0) == 1
        if any(_padding_only_window(spatial[i], kernel[i], strides[i], dilations[i], pads[i],
                                    pads[i + rank], ceil) for i in range(rank)):
            return True
    return False


def pool_ceil_mode_overhang_of_two(received, produced) -> bool:
    """An AveragePool or LpPool with ceil_mode=1 whose last window runs two or more places
    past the input and its end padding: onnx's reference evaluator pads that overhang half
    at the start (op_pool_common.get_output_shape_explicit_padding), which moves every
    window."""
    model = models.model_of(received)
    if model is None:
        return True
    shapes = models.declared_shapes(model)
    for node in models.nodes(model, "AveragePool", "LpPool"):
        if models.attributes(node).get("ceil_mode", 0) != 1:
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


SAME_PADDINGS = ("SAME_UPPER", "SAME_LOWER")


def pool_same_stride_over_kernel(received, produced) -> bool:
    """A MaxPool or AveragePool of either model with auto_pad SAME_UPPER or SAME_LOWER and a
    stride longer than its (dilated) window along an axis: ONNX's total padding there,
    (ceil(in / stride) - 1) * stride + window - in, is negative for some sizes, and
    onnxruntime refuses it where ONNX clamps it at 0. tf2onnx writes a Keras 'same' pool so
    where it cannot see the spatial dimensions."""
    for artifact in (received, produced):
        model = models.model_of(artifact)
        if model is None:
            continue
        for graph in models.graphs(model.graph):
            for node in graph.node:
                if node.op_type not in ("MaxPool", "AveragePool"):
                    continue
                attrs = models.attributes(node)
                auto_pad = attrs.get("auto_pad", b"NOTSET")
                if (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) \
                        not in SAME_PADDINGS:
                    continue
                kernel = list(attrs.get("kernel_shape", ()))
                strides = list(attrs.get("strides", ())) or [1] * len(kernel)
                dilations = list(attrs.get("dilations", ())) or [1] * len(kernel)
                if any(stride > (size - 1) * dilation + 1
                       for size, stride, dilation in zip(kernel, strides, dilations)):
                    return True
    return False
