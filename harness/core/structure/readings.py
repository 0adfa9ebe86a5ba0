"""Where a reading's own known bug can be: the values of a node it needs.

The source's readings (onnxruntime, onnx's reference evaluator) each have bugs that only some
values of a node meet; an entry about one claims a mismatch only where the node holds those
values."""

from __future__ import annotations

import math
from fractions import Fraction

from harness.core.structure import models

FLOAT16 = 10  # onnx.TensorProto.FLOAT16


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


def resize_geometry(node, shapes, constants, opset: int):
    """Per axis, (input length, output length, exact scale); None where the dims it resizes,
    the scales or sizes, or the output lengths are not known here."""
    attrs = models.attributes(node)
    shape = shapes.get(node.input[0])
    if shape is None:
        return None
    operands = list(node.input) + ["", "", ""]
    scales_name, sizes_name = (operands[1], "") if opset < 11 else (operands[2], operands[3])
    axes = [a % len(shape) for a in attrs.get("axes", range(len(shape)))]
    if sizes_name:
        if sizes_name not in constants or models.text(attrs.get("keep_aspect_ratio_policy",
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
    model = models.model_of(received)
    if model is None:
        return True
    shapes, constants, opset = models.declared_shapes(model), models.constants(model), models.opset_of(model)
    for node in models.nodes(model, "Resize"):
        attrs = models.attributes(node)
        if models.text(attrs.get("mode", "nearest")) != "nearest" or models.text(
                attrs.get("nearest_mode", "round_prefer_floor")) != "floor":
            continue
        mode = models.text(attrs.get("coordinate_transformation_mode",
                               "asymmetric" if opset < 11 else "half_pixel"))
        geometry = resize_geometry(node, shapes, constants, opset)
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
    model = models.model_of(received)
    if model is None:
        return True
    ranks = models.ranks(model)
    for node in models.nodes(model, "Shape"):
        rank = ranks.get(node.input[0])
        end = models.attributes(node).get("end")
        if end is not None and (rank is None or -2 * rank < end < -rank):
            return True
    return False


def cast_to_float16_read_by_a_node(received, produced) -> bool:
    """A Cast to float16 whose output another node reads: where that node has no float16
    kernel on onnxruntime's CPU provider, the Cast onnxruntime puts before it (back to
    float32) cancels the model's own, and the float16 rounding is lost."""
    model = models.model_of(received)
    if model is None:
        return True
    readers = models.readers(model)
    return any(models.attributes(node).get("to") == FLOAT16
               and any(reader.op_type != "Cast" for reader in readers.get(node.output[0], []))
               for node in models.nodes(model, "Cast"))


def max_unpool_output_shape_not_inferred(received, produced) -> bool:
    """A MaxUnpool given an output_shape whose dims after the batch differ from the shape
    its kernel, strides and pads infer: its indices are flat over the output_shape, and onnx's
    reference MaxUnpool scatters them over the inferred shape (op_max_unpool.py) before
    copying that into a corner of the output."""
    model = models.model_of(received)
    if model is None:
        return True
    shapes, constants = models.declared_shapes(model), models.constants(model)
    for node in models.nodes(model, "MaxUnpool"):
        if len(node.input) < 3 or not node.input[2]:
            continue
        shape = shapes.get(node.input[0])
        if node.input[2] not in constants or shape is None or None in shape:
            return True
        attrs = models.attributes(node)
        kernel = list(attrs.get("kernel_shape", []))
        rank = len(kernel)
        strides = list(attrs.get("strides", [1] * rank))
        pads = list(attrs.get("pads", [0] * 2 * rank))
        inferred = [shape[1], *((shape[2 + i] - 1) * strides[i] - pads[i] - pads[rank + i]
                                + kernel[i] for i in range(rank))]
        if [int(d) for d in constants[node.input[2]].reshape(-1)[1:]] != inferred:
            return True
    return False
