"""Pooling: MaxPool (with its Indices output), AveragePool, LpPool, the global pools,
MaxUnpool and the region pools RoiAlign and MaxRoiPool."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import OPERANDS, OPSET, OUTPUTS
from harness.sources.onnx.op import opset_and_dtype
from harness.sources.onnx.ops.conv import WINDOW_DOMAINS, kind, window, written

FAMILY = "pooling"

# onnxruntime's CPU pooling kernels: MaxPool also takes double, int8 and uint8
POOL_DTYPES = ("float32", "float16")
MAX_POOL_DTYPES = ("float32", "float16", "float64", "int8", "uint8")


def _batch_channels(pick: Picker) -> tuple[int, int]:
    return pick.draw(st.integers(1, 2)), pick.draw(st.integers(1, 3))


def _ceil_mode(pick: Picker, attrs: dict[str, Any]) -> bool:
    ceil_mode = pick("ceil_mode")
    if ceil_mode or written(pick):
        attrs["ceil_mode"] = ceil_mode
    return bool(ceil_mode)


# -- MaxPool ----------------------------------------------------------------------------------

MAX_POOL_DOMAINS = {**WINDOW_DOMAINS, "ceil_mode": [0, 1], "storage_order": [0, 1],
                    "outputs": [1, 2]}


def _draw_max_pool(pick: Picker):
    outputs = pick("outputs")
    # Indices of tied maxima are the implementation's choice: small integers tie often
    opset, dtype = opset_and_dtype(pick, "MaxPool", MAX_POOL_DTYPES if outputs == 1
                                   else ("float32", "float64"))
    spatial = pick("spatial")
    geometry, sizes = window(pick, spatial, pooling=True)
    attrs: dict[str, Any] = {OPSET: opset, **geometry}
    _ceil_mode(pick, attrs)
    storage_order = pick("storage_order")
    if storage_order or written(pick):
        attrs["storage_order"] = storage_order
    attrs[OUTPUTS] = outputs
    batch, chans = _batch_channels(pick)
    return attrs, [(batch, chans, *sizes)], dtype


kind("MaxPool", FAMILY, _draw_max_pool, MAX_POOL_DOMAINS)


# -- AveragePool ------------------------------------------------------------------------------

AVERAGE_POOL_DOMAINS = {**WINDOW_DOMAINS, "ceil_mode": [0, 1], "count_include_pad": [0, 1]}


def _draw_average_pool(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "AveragePool", POOL_DTYPES)
    spatial = pick("spatial")
    # dilations from opset 19
    geometry, sizes = window(pick, spatial, pooling=True, dilations=opset >= 19)
    attrs: dict[str, Any] = {OPSET: opset, **geometry}
    _ceil_mode(pick, attrs)
    count_include_pad = pick("count_include_pad")
    if count_include_pad or written(pick):
        attrs["count_include_pad"] = count_include_pad
    batch, chans = _batch_channels(pick)
    return attrs, [(batch, chans, *sizes)], dtype


kind("AveragePool", FAMILY, _draw_average_pool, AVERAGE_POOL_DOMAINS, dtypes=POOL_DTYPES)


# -- LpPool -----------------------------------------------------------------------------------

LP_POOL_DOMAINS = {**WINDOW_DOMAINS, "ceil_mode": [0, 1], "p": [2, 1, 3]}


def _draw_lp_pool(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "LpPool", POOL_DTYPES)
    spatial = pick("spatial")
    # ceil_mode and dilations from opset 18
    geometry, sizes = window(pick, spatial, pooling=True, dilations=opset >= 18)
    attrs: dict[str, Any] = {OPSET: opset, **geometry}
    if opset >= 18:
        _ceil_mode(pick, attrs)
    p = pick("p")
    if p != 2 or written(pick):
        attrs["p"] = p
    batch, chans = _batch_channels(pick)
    return attrs, [(batch, chans, *sizes)], dtype


kind("LpPool", FAMILY, _draw_lp_pool, LP_POOL_DOMAINS, dtypes=POOL_DTYPES)


# -- global pools -----------------------------------------------------------------------------

def _global_pool(op_type: str, domains: dict[str, list[Any]]) -> None:
    def draw(pick: Picker):
        opset, dtype = opset_and_dtype(pick, op_type, POOL_DTYPES)
        attrs: dict[str, Any] = {OPSET: opset}
        if "p" in domains:
            p = pick("p")
            if p != 2 or written(pick):
                attrs["p"] = p
        batch, chans = _batch_channels(pick)
        sizes = [pick.draw(st.integers(1, 5)) for _ in range(pick("spatial"))]
        return attrs, [(batch, chans, *sizes)], dtype

    kind(op_type, FAMILY, draw, {"spatial": [2, 1, 3], **domains}, dtypes=POOL_DTYPES)


_global_pool("GlobalAveragePool", {})
_global_pool("GlobalMaxPool", {})
_global_pool("GlobalLpPool", {"p": [2, 1, 3]})


# -- MaxUnpool --------------------------------------------------------------------------------

MAX_UNPOOL_DOMAINS = {"spatial": [2, 1, 3], "kernel_shape": [1, 2, 3], "strides": [1, 2, 3, 4],
                      "pads": [0, 1], "form": ["default_shape", "output_shape"]}


def _draw_max_unpool(pick: Picker):
    """Indices as MaxPool writes them (flat over the whole output, one per window inside
    the unpadded output); windows do not overlap (stride = kernel or kernel + 1), so no two
    values land on one element."""
    opset, dtype = opset_and_dtype(pick, "MaxUnpool", POOL_DTYPES)
    spatial = pick("spatial")
    kernel = [pick("kernel_shape") for _ in range(spatial)]
    strides = [pick("strides", among=[s for s in pick.domain("strides") if s in (k, k + 1)])
               for k in kernel]
    pads = [pick("pads", among=[p for p in pick.domain("pads") if p < kernel[i % spatial]])
            for i in range(2 * spatial)]
    pooled = [pick.draw(st.integers(1, 3)) for _ in range(spatial)]
    batch, chans = _batch_channels(pick)
    default = [(pooled[i] - 1) * strides[i] + kernel[i] - pads[i] - pads[i + spatial]
               for i in range(spatial)]
    if any(d < 1 for d in default):
        pads = [0] * (2 * spatial)
        default = [(pooled[i] - 1) * strides[i] + kernel[i] for i in range(spatial)]
    output = list(default)
    attrs: dict[str, Any] = {OPSET: opset, "kernel_shape": kernel}
    if pick("form") == "output_shape":
        output = [d + pick.draw(st.integers(0, strides[i] - 1)) for i, d in enumerate(default)]
    rng = np.random.default_rng(pick.draw(st.integers(0, 2**16 - 1)))
    indices = np.zeros((batch, chans, *pooled), dtype=np.int64)
    for position in np.ndindex(*indices.shape):
        n_c, window_at = position[:2], position[2:]
        flat = n_c[0] * chans + n_c[1]
        for i in range(spatial):
            start = window_at[i] * strides[i] - pads[i]
            low, high = max(start, 0), min(start + kernel[i], output[i])
            coordinate = int(rng.integers(low, high)) if high > low else min(max(start, 0),
                                                                             output[i] - 1)
            flat = flat * output[i] + coordinate
        indices[position] = flat
    write_defaults = written(pick)
    if write_defaults or any(s != 1 for s in strides):
        attrs["strides"] = strides
    if write_defaults or any(pads):
        attrs["pads"] = pads
    operands: list[Any] = ["in", {"const": indices.tolist(), "dtype": "int64"}]
    if output != default or write_defaults:
        operands.append({"const": [batch, chans, *output], "dtype": "int64"})
    attrs[OPERANDS] = operands
    return attrs, [(batch, chans, *pooled)], dtype


def _max_unpool_output(attrs, shapes, dtype):
    """The output_shape input when given, else ONNX's default unpooled shape."""
    operands = attrs[OPERANDS]
    if len(operands) > 2:
        return [(dtype, list(operands[2]["const"]))]
    spatial = len(shapes[0]) - 2
    kernel = attrs["kernel_shape"]
    strides = attrs.get("strides", [1] * spatial)
    pads = attrs.get("pads", [0] * 2 * spatial)
    return [(dtype, [*shapes[0][:2], *((shapes[0][2 + i] - 1) * strides[i] + kernel[i]
                                      - pads[i] - pads[i + spatial] for i in range(spatial))])]


kind("MaxUnpool", FAMILY, _draw_max_unpool, MAX_UNPOOL_DOMAINS,
     output_types=_max_unpool_output, dtypes=POOL_DTYPES,
     free_batch=False)  # a constant index input pins the batch (measured)


# -- RoiAlign, MaxRoiPool ---------------------------------------------------------------------

ROI_ALIGN_DOMAINS = {"mode": ["avg", "max"], "output_height": [1, 2, 3],
                     "output_width": [1, 2, 3], "sampling_ratio": [0, 1, 2],
                     "spatial_scale": [1.0, 0.5, 0.25],
                     "coordinate_transformation_mode": ["half_pixel", "output_half_pixel"]}


def _boxes(pick: Picker, count: int, height: int, width: int, scale: float) -> list[list[float]]:
    """Boxes [x1, y1, x2, y2] in input coordinates (image / scale), on a half-pixel grid."""
    boxes = []
    for _ in range(count):
        x1 = pick.draw(st.integers(0, 2 * width - 1)) / 2
        y1 = pick.draw(st.integers(0, 2 * height - 1)) / 2
        x2 = x1 + pick.draw(st.integers(0, 2 * width)) / 2
        y2 = y1 + pick.draw(st.integers(0, 2 * height)) / 2
        boxes.append([v / scale for v in (x1, y1, x2, y2)])
    return boxes


def _draw_roi_align(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "RoiAlign", ("float32", "float16", "float64"))
    batch, chans = _batch_channels(pick)
    height, width = pick.draw(st.integers(1, 6)), pick.draw(st.integers(1, 6))
    attrs: dict[str, Any] = {OPSET: opset}
    names = ["mode", "output_height", "output_width", "sampling_ratio", "spatial_scale"]
    if opset >= 16:
        names.append("coordinate_transformation_mode")
    defaults = {"mode": "avg", "output_height": 1, "output_width": 1, "sampling_ratio": 0,
                "spatial_scale": 1.0, "coordinate_transformation_mode": "half_pixel"}
    write_defaults = written(pick)
    values = {name: pick(name) for name in names}
    attrs.update({n: v for n, v in values.items() if v != defaults[n] or write_defaults})
    count = pick.draw(st.integers(1, 3))
    boxes = _boxes(pick, count, height, width, values["spatial_scale"])
    batch_indices = [pick.draw(st.integers(0, batch - 1)) for _ in range(count)]
    attrs[OPERANDS] = ["in", {"const": boxes, "dtype": dtype},
                       {"const": batch_indices, "dtype": "int64"}]
    return attrs, [(batch, chans, height, width)], dtype


kind("RoiAlign", FAMILY, _draw_roi_align, ROI_ALIGN_DOMAINS,
     free_batch=False)  # no drawn case can have a free batch (measured)


MAX_ROI_POOL_DOMAINS = {"pooled_shape": [1, 2, 3], "spatial_scale": [1.0, 0.5, 0.25]}


def _draw_max_roi_pool(pick: Picker):
    opset, dtype = opset_and_dtype(pick, "MaxRoiPool", POOL_DTYPES)
    batch, chans = _batch_channels(pick)
    height, width = pick.draw(st.integers(1, 6)), pick.draw(st.integers(1, 6))
    scale = pick("spatial_scale")
    attrs: dict[str, Any] = {OPSET: opset,
                             "pooled_shape": [pick("pooled_shape"), pick("pooled_shape")]}
    if scale != 1.0 or written(pick):
        attrs["spatial_scale"] = scale
    count = pick.draw(st.integers(1, 3))
    rois = [[float(pick.draw(st.integers(0, batch - 1))), *box]
            for box in _boxes(pick, count, height, width, scale)]
    attrs[OPERANDS] = ["in", {"const": rois, "dtype": dtype}]
    return attrs, [(batch, chans, height, width)], dtype


kind("MaxRoiPool", FAMILY, _draw_max_roi_pool, MAX_ROI_POOL_DOMAINS, dtypes=POOL_DTYPES,
     free_batch=False)  # no drawn case can have a free batch (measured)

