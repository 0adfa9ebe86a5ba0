"""Convolutions: Conv, ConvTranspose, DeformConv and Col2Im, weights as initializers.

The window geometry (kernel, strides, dilations, pads or auto_pad, and input sizes the
window fits) is drawn by ``window``, which the pooling family shares.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import (
    OPERANDS,
    OPSET,
    VALUE_RANGE,
)
from harness.sources.onnx.op import (
    op_kind,
    opset_and_dtype,
)
from harness.sources.onnx.ops.math import with_typed_inputs

FAMILY = "conv"

AUTO_PADS = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]
# How an attribute whose drawn value is its default is written: exporters (torch.onnx,
# tf2onnx) write it; a hand-made graph leaves it out.
WRITTEN, OMITTED = "written", "omitted"
# onnxruntime's CPU kernels of the convolutions take float and float16, not double.
CONV_DTYPES = ("float32", "float16")

WINDOW_DOMAINS: dict[str, list[Any]] = {
    "spatial": [1, 2, 3],
    "kernel_shape": [1, 2, 3],
    "strides": [1, 2, 3],
    "dilations": [1, 2],
    "pads": [0, 1, 2],
    "auto_pad": AUTO_PADS,
}


def effective(kernel: int, dilation: int) -> int:
    """The extent of a dilated kernel."""
    return (kernel - 1) * dilation + 1


def written(pick: Picker) -> bool:
    return pick.draw(st.sampled_from([WRITTEN, OMITTED])) == WRITTEN


def window(pick: Picker, spatial: int, *, dilations: bool = True, pooling: bool = False,
           auto_pads: list[str] | None = None, max_size: int = 6
           ) -> tuple[dict[str, Any], list[int]]:
    """The window attributes of a ``spatial``-D op and input sizes the window fits.

    An auto_pad SAME_* window is not dilated (onnxruntime's Conv: "Dilation not supported
    for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER"). For ``pooling`` every pad is
    smaller than the kernel, and a SAME_* window strides at most its kernel: onnxruntime's
    pools compute a negative padding otherwise and fail ("padding values must be
    non-negative", onnxruntime-pool-same-stride-over-kernel). Attributes at their defaults
    are written or left out."""
    kernel = [pick("kernel_shape") for _ in range(spatial)]
    auto_pad = pick("auto_pad", among=auto_pads)
    same = auto_pad in ("SAME_UPPER", "SAME_LOWER")
    strides = [pick("strides", among=[s for s in pick.domain("strides") if s <= k]
                    if same and pooling else None) for k in kernel]
    dils = ([pick("dilations", among=[1] if same else None)
             for _ in range(spatial)] if dilations else [1] * spatial)
    pads = [0] * (2 * spatial)
    if auto_pad == "NOTSET":
        for axis in range(2 * spatial):
            k = kernel[axis % spatial]
            pads[axis] = pick("pads", among=[p for p in pick.domain("pads")
                                             if not pooling or p < k])
    sizes = []
    for axis in range(spatial):
        ek = effective(kernel[axis], dils[axis])
        low = 1
        if auto_pad == "NOTSET":
            low = max(1, ek - pads[axis] - pads[axis + spatial])
        elif auto_pad == "VALID":
            low = ek
        sizes.append(pick.draw(st.integers(low, max(low, max_size))))
    attrs: dict[str, Any] = {"auto_pad": auto_pad} if auto_pad != "NOTSET" or written(pick) else {}
    attrs["kernel_shape"] = kernel
    write_defaults = written(pick)
    values = [("strides", strides, 1)]
    if dilations:
        values.append(("dilations", dils, 1))
    if auto_pad == "NOTSET":
        values.append(("pads", pads, 0))
    for name, value, default in values:
        if write_defaults or any(v != default for v in value):
            attrs[name] = value
    return attrs, sizes


def output_size(size: int, kernel: int, stride: int = 1, dilation: int = 1, pad_begin: int = 0,
                pad_end: int = 0, auto_pad: str = "NOTSET", ceil_mode: bool = False) -> int:
    """ONNX's output size of a sliding window (Conv, pooling)."""
    ek = effective(kernel, dilation)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return math.ceil(size / stride)
    if auto_pad == "VALID":
        return math.ceil((size - ek + 1) / stride)
    span = size + pad_begin + pad_end - ek
    return (math.ceil if ceil_mode else math.floor)(span / stride) + 1


def geometry_of(attrs: dict[str, Any], spatial: int) -> tuple[list[int], list[int], list[int],
                                                               list[int], str]:
    """kernel, strides, dilations, pads and auto_pad of drawn window attributes."""
    return (list(attrs["kernel_shape"]), list(attrs.get("strides", [1] * spatial)),
            list(attrs.get("dilations", [1] * spatial)), list(attrs.get("pads", [0] * 2 * spatial)),
            attrs.get("auto_pad", "NOTSET"))


def output_sizes(attrs: dict[str, Any], sizes: list[int], ceil_mode: bool = False) -> list[int]:
    spatial = len(sizes)
    kernel, strides, dils, pads, auto_pad = geometry_of(attrs, spatial)
    return [output_size(sizes[i], kernel[i], strides[i], dils[i], pads[i], pads[i + spatial],
                        auto_pad, ceil_mode) for i in range(spatial)]


def channels(pick: Picker) -> tuple[int, int, int]:
    """group, input channels per group (1 with group > 1: depthwise), output channels per
    group."""
    return pick("group"), pick("channels"), pick.draw(st.integers(1, 3))


def _kernel_shape_written(pick: Picker, geometry: dict[str, Any]) -> list[int]:
    """The kernel shape; left out of the node in some graphs (ONNX infers it from W)."""
    kernel = geometry["kernel_shape"]
    if not written(pick):
        del geometry["kernel_shape"]
    return kernel


def _group_attr(pick: Picker, group: int) -> dict[str, int]:
    return {"group": group} if group != 1 or written(pick) else {}


def kind(op_type: str, family: str, draw, domains: dict[str, Any], **options: Any):
    """``op_kind`` with input overrides drawn in each graph input's own dtype (integer and
    boolean inputs too), as the math family draws them."""
    return with_typed_inputs(op_kind(op_type, family, draw, domains, **options))


# -- Conv -------------------------------------------------------------------------------------

CONV_DOMAINS = {**WINDOW_DOMAINS, "group": [1, 2, 3], "channels": [1, 2, 3],
                "form": ["bias", "no_bias"]}


def _draw_conv(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Conv", CONV_DTYPES)
    spatial = pick("spatial")
    geometry, sizes = window(pick, spatial)
    group, per_group_in, per_group_out = channels(pick)
    batch = pick.draw(st.integers(1, 2))
    out_channels = group * per_group_out
    kernel = _kernel_shape_written(pick, geometry)
    attrs: dict[str, Any] = {OPSET: opset, **geometry, **_group_attr(pick, group)}
    operands: list[Any] = ["in", {"weight": [out_channels, per_group_in, *kernel],
                                  "role": "kernel"}]
    if pick("form") == "bias":
        operands.append({"weight": [out_channels], "role": "bias"})
    attrs[OPERANDS] = operands
    return attrs, [(batch, group * per_group_in, *sizes)], dtype


kind("Conv", FAMILY, _draw_conv, CONV_DOMAINS, dtypes=CONV_DTYPES)


# -- ConvTranspose ----------------------------------------------------------------------------

CONV_TRANSPOSE_DOMAINS = {**CONV_DOMAINS, "output_padding": [0, 1, 2]}


def _draw_conv_transpose(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "ConvTranspose", CONV_DTYPES)
    spatial = pick("spatial")
    kernel = [pick("kernel_shape") for _ in range(spatial)]
    strides = [pick("strides") for _ in range(spatial)]
    dils = [pick("dilations") for _ in range(spatial)]
    # onnxruntime wants output_padding below the stride (torch: below stride or dilation)
    output_padding = [pick("output_padding", among=[p for p in pick.domain("output_padding")
                                                    if p < strides[i]])
                      for i in range(spatial)]
    sizes = [pick.draw(st.integers(1, 4)) for _ in range(spatial)]
    auto_pad = pick("auto_pad")
    full = [strides[i] * (sizes[i] - 1) + output_padding[i] + effective(kernel[i], dils[i])
            for i in range(spatial)]
    attrs: dict[str, Any] = {OPSET: opset}
    if auto_pad != "NOTSET" or written(pick):
        attrs["auto_pad"] = auto_pad
    attrs["kernel_shape"] = kernel
    write_defaults = written(pick)
    for name, value, default in (("strides", strides, 1), ("dilations", dils, 1),
                                 ("output_padding", output_padding, 0)):
        if write_defaults or any(v != default for v in value):
            attrs[name] = value
    shape_given = auto_pad != "VALID" and pick.draw(st.booleans())
    if shape_given:
        # the pads are derived from the total padding (split as auto_pad says): up to
        # kernel - 1 cropped
        attrs["output_shape"] = [full[i] - pick.draw(st.integers(0, effective(kernel[i],
                                                                                dils[i]) - 1))
                                 for i in range(spatial)]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # the output is input * stride: the full output must be at least that long
        for i in range(spatial):
            if full[i] < sizes[i] * strides[i]:
                attrs.setdefault("strides", list(strides))[i] = strides[i] = 1
                attrs.setdefault("output_padding", list(output_padding))[i] = 0
                output_padding[i] = 0
    elif auto_pad == "NOTSET":
        pads = [pick("pads", among=[p for p in pick.domain("pads")
                                    if p < effective(kernel[axis % spatial], dils[axis % spatial])])
                for axis in range(2 * spatial)]
        for i in range(spatial):  # at least one output element
            while full[i] - pads[i] - pads[i + spatial] < 1:
                pads[i + spatial if pads[i + spatial] else i] -= 1
        if write_defaults or any(pads):
            attrs["pads"] = pads
    group, per_group_in, per_group_out = channels(pick)
    batch = pick.draw(st.integers(1, 2))
    if not written(pick):
        del attrs["kernel_shape"]
    attrs.update(_group_attr(pick, group))
    operands: list[Any] = ["in", {"weight": [group * per_group_in, per_group_out, *kernel],
                                  "role": "kernel"}]
    if pick("form") == "bias":
        operands.append({"weight": [group * per_group_out], "role": "bias"})
    attrs[OPERANDS] = operands
    return attrs, [(batch, group * per_group_in, *sizes)], dtype


kind("ConvTranspose", FAMILY, _draw_conv_transpose, CONV_TRANSPOSE_DOMAINS,
     dtypes=CONV_DTYPES)


# -- DeformConv (opset 19) --------------------------------------------------------------------

DEFORM_DOMAINS = {**{k: v for k, v in CONV_DOMAINS.items() if k not in ("spatial", "auto_pad")},
                  "offset_group": [1, 2, 3], "operand_form": ["no_mask", "mask"]}


def _draw_deform_conv(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "DeformConv", ("float32", "float16", "float64"))
    geometry, sizes = window(pick, 2, auto_pads=["NOTSET"])
    geometry.pop("auto_pad", None)  # DeformConv has no auto_pad
    group, per_group_in, per_group_out = channels(pick)
    in_channels = group * per_group_in
    offset_group = pick("offset_group", among=[g for g in pick.domain("offset_group")
                                               if in_channels % g == 0])
    batch = pick.draw(st.integers(1, 2))
    kernel = _kernel_shape_written(pick, geometry)
    out = output_sizes(geometry | {"kernel_shape": kernel}, sizes)
    attrs: dict[str, Any] = {OPSET: opset, **geometry, **_group_attr(pick, group)}
    if offset_group != 1 or written(pick):
        attrs["offset_group"] = offset_group
    taps = kernel[0] * kernel[1]
    bias = pick("form") == "bias"
    mask = pick("operand_form") == "mask"
    attrs[OPERANDS] = ["in", {"weight": [group * per_group_out, per_group_in, *kernel],
                              "role": "kernel"}, "in",
                       {"weight": [group * per_group_out], "role": "bias"} if bias else None,
                       *(["in"] if mask else [])]
    shapes = [(batch, in_channels, *sizes), (batch, offset_group * 2 * taps, *out)]
    if mask:
        shapes.append((batch, offset_group * taps, *out))
        attrs[VALUE_RANGE] = [None, [-1.5, 1.5], [0.0, 1.0]]
    else:
        attrs[VALUE_RANGE] = [None, [-1.5, 1.5]]
    return attrs, shapes, dtype


kind("DeformConv", FAMILY, _draw_deform_conv, DEFORM_DOMAINS)


# -- Col2Im (opset 18) ------------------------------------------------------------------------

COL2IM_DOMAINS = {"spatial": [2, 1, 3], "size": [1, 2, 3], "strides": [1, 2],
                  "dilations": [1, 2], "pads": [0, 1], "channels": [1, 2]}


COL2IM_DTYPES = ("float32", "float16")


def _draw_col2im(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "Col2Im", COL2IM_DTYPES)
    spatial = pick("spatial")
    block = [pick("size") for _ in range(spatial)]
    strides = [pick("strides") for _ in range(spatial)]
    dils = [pick("dilations") for _ in range(spatial)]
    pads = [pick("pads") for _ in range(2 * spatial)]
    image, blocks = [], 1
    for i in range(spatial):
        low = max(1, effective(block[i], dils[i]) - pads[i] - pads[i + spatial])
        image.append(pick.draw(st.integers(low, low + 3)))
        blocks *= output_size(image[i], block[i], strides[i], dils[i], pads[i],
                              pads[i + spatial])
    attrs: dict[str, Any] = {OPSET: opset}
    write_defaults = written(pick)
    for name, value, default in (("strides", strides, 1), ("dilations", dils, 1),
                                 ("pads", pads, 0)):
        if write_defaults or any(v != default for v in value):
            attrs[name] = value
    attrs[OPERANDS] = ["in", {"const": image, "dtype": "int64"},
                       {"const": block, "dtype": "int64"}]
    batch = pick.draw(st.integers(1, 2))
    return attrs, [(batch, pick("channels") * math.prod(block), blocks)], dtype


kind("Col2Im", FAMILY, _draw_col2im, COL2IM_DOMAINS, dtypes=COL2IM_DTYPES)
