"""Resampling: Resize (every mode, coordinate transformation and rounding, by scales or by
sizes, antialias/axes/keep_aspect_ratio_policy from opset 18), GridSample and AffineGrid."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import Picker
from harness.sources.onnx.build import OPERANDS, OPSET, VALUE_RANGE
from harness.sources.onnx.op import opset_and_dtype
from harness.sources.onnx.ops.conv import kind, written
from harness.sources.onnx.ops.shape import const, dims

FAMILY = "resize"

COORDINATE_MODES = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                    "half_pixel_symmetric", "tf_crop_and_resize"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
SCALES = [2.0, 0.5, 1.5, 3.0, 0.75, 1.0, 0.6]

RESIZE_DOMAINS = {
    "mode": ["nearest", "linear", "cubic"],
    "coordinate_transformation_mode": COORDINATE_MODES,
    "nearest_mode": NEAREST_MODES,
    "cubic_coeff_a": [-0.75, -0.5],
    "exclude_outside": [0, 1],
    "extrapolation_value": [0.0, -1.0, 10.0],
    "antialias": [0, 1],
    "keep_aspect_ratio_policy": ["stretch", "not_larger", "not_smaller"],
    "spatial": [2, 1, 3],
    "form": ["scales", "sizes"],
    "operand_form": ["no_axes", "axes"],
    "axes": [2, 3, 4, -1, -2, -3],
}
RESIZE_DEFAULTS = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                   "nearest_mode": "round_prefer_floor", "cubic_coeff_a": -0.75,
                   "exclude_outside": 0, "extrapolation_value": 0.0, "antialias": 0,
                   "keep_aspect_ratio_policy": "stretch"}
# Integer inputs only resized by nearest (interpolating ones round as each runtime likes).
RESIZE_DTYPES = ("float32", "float16", "int8", "uint8", "int32")


def _draw_resize(pick: Picker):
    """An (N, C, spatial...) input resized over its spatial axes: by scales (float32) or by
    sizes (int64), over every axis (N and C at 1) or, from opset 18, over the ``axes``
    attribute's. Linear takes 1-3 spatial axes, cubic 2 (onnxruntime's limits)."""
    opset = pick(OPSET)
    mode = pick("mode")
    dtype = opset_and_dtype(pick, "Resize", RESIZE_DTYPES if mode == "nearest"
                            else ("float32", "float16"))[1]
    spatial = pick("spatial", among=[2] if mode == "cubic" else None)
    shape = (pick.draw(st.integers(1, 2)), pick.draw(st.integers(1, 2)),
             *dims(pick, spatial, 1, 5))
    rank = len(shape)
    coordinate_modes = [m for m in COORDINATE_MODES if m != "half_pixel_symmetric"
                        or opset >= 19]
    values = {"mode": mode,
              "coordinate_transformation_mode": pick("coordinate_transformation_mode",
                                                     among=coordinate_modes)}
    if mode == "nearest":
        values["nearest_mode"] = pick("nearest_mode")
    if mode == "cubic":
        values["cubic_coeff_a"] = pick("cubic_coeff_a")
        values["exclude_outside"] = pick("exclude_outside")
    crop = values["coordinate_transformation_mode"] == "tf_crop_and_resize"
    if crop:
        values["extrapolation_value"] = pick("extrapolation_value")
    if opset >= 18 and mode != "nearest":
        values["antialias"] = pick("antialias")
    by = pick("form")
    if opset >= 18 and by == "sizes":
        values["keep_aspect_ratio_policy"] = pick("keep_aspect_ratio_policy")
    write_defaults = written(pick)
    attrs: dict[str, Any] = {OPSET: opset}
    attrs.update({name: value for name, value in values.items()
                  if value != RESIZE_DEFAULTS[name] or write_defaults})
    axes = list(range(2, rank))
    # keep_aspect_ratio_policy over every axis scales N and C too, which onnxruntime's
    # linear and cubic kernels refuse: those resize the spatial axes named by axes
    aspect = values.get("keep_aspect_ratio_policy", "stretch") != "stretch"
    if opset >= 18 and pick("operand_form", among=["axes"] if aspect and mode != "nearest"
                            else None) == "axes":
        axes = sorted(pick.draw(st.lists(st.sampled_from(axes), min_size=1, unique=True)))
        attrs["axes"] = [a - rank if pick.draw(st.booleans()) else a for a in axes]
    resized = axes if "axes" in attrs else list(range(rank))
    roi = None
    if crop:  # starts then ends, per resized axis, in normalised coordinates
        starts = [0.0 if a < 2 else pick.draw(st.sampled_from([0.0, 0.25, -0.2]))
                  for a in resized]
        ends = [1.0 if a < 2 else pick.draw(st.sampled_from([1.0, 0.75, 1.2]))
                for a in resized]
        roi = const(starts + ends, "float32")
    if by == "scales":
        scales = [1.0 if a < 2 else
                  pick.draw(st.sampled_from([s for s in SCALES if math.floor(shape[a] * s) >= 1]))
                  for a in resized]
        attrs[OPERANDS] = ["in", roi, const(scales, "float32")]
    else:
        sizes = [shape[a] if a < 2 else pick.draw(st.integers(1, 7)) for a in resized]
        attrs[OPERANDS] = ["in", roi, None, const(sizes)]
    return attrs, [shape], dtype


kind("Resize", FAMILY, _draw_resize, RESIZE_DOMAINS, dtypes=RESIZE_DTYPES)


# -- GridSample (opset 16; 20 renames the modes and goes N-D), AffineGrid (opset 20) ---------

GRID_MODES = {16: ["bilinear", "nearest", "bicubic"], 20: ["linear", "nearest", "cubic"]}


def _draw_grid_sample(pick: Picker):
    """A 4-D input sampled at a grid (a graph input slightly beyond [-1, 1], so that every
    padding mode matters)."""
    opset = pick(OPSET)
    modes = GRID_MODES[20 if opset >= 20 else 16]
    mode = pick("mode", among=modes)
    # onnxruntime's GridSample-16 kernel has no double, its GridSample-20 one has. No float16:
    # each implementation samples at its own precision (onnx's evaluator in float16 throughout,
    # torch's CPU kernel up to 204 ULP from onnxruntime's float32-and-round on linear modes,
    # 2e-2 on cubic ones), beyond float16's tolerance and no converter's fault; judging them
    # needs a yardstick of the source's own rounding (issue #16), not a wider rule.
    dtypes = ("float32", "float64") if opset >= 20 else ("float32",)
    dtype = opset_and_dtype(pick, "GridSample", dtypes)[1]
    attrs: dict[str, Any] = {OPSET: opset}
    if mode != modes[0] or written(pick):
        attrs["mode"] = mode
    padding_mode = pick("padding_mode")
    if padding_mode != "zeros" or written(pick):
        attrs["padding_mode"] = padding_mode
    align_corners = pick("align_corners")
    if align_corners or written(pick):
        attrs["align_corners"] = align_corners
    batch = pick.draw(st.integers(1, 2))
    shape = (batch, pick.draw(st.integers(1, 3)), *dims(pick, 2, 1, 5))
    grid = (batch, *dims(pick, 2, 1, 4), 2)
    attrs[VALUE_RANGE] = [None, [-1.2, 1.2]]
    return attrs, [shape, grid], dtype


kind("GridSample", FAMILY, _draw_grid_sample,
     {"mode": [*GRID_MODES[16], *GRID_MODES[20]], "padding_mode": ["zeros", "border",
                                                                    "reflection"],
      "align_corners": [0, 1]}, dtypes=("float32", "float64"))


AFFINE_GRID_DTYPES = ("float32", "float64")


def _draw_affine_grid(pick: Picker):
    """theta (N, 2, 3) or (N, 3, 4) a graph input, size an int64 initializer."""
    opset, dtype = opset_and_dtype(pick, "AffineGrid", AFFINE_GRID_DTYPES)
    spatial = pick("spatial")
    batch = pick.draw(st.integers(1, 2))
    size = [batch, pick.draw(st.integers(1, 3)), *dims(pick, spatial, 1, 5)]
    attrs: dict[str, Any] = {OPSET: opset}
    align_corners = pick("align_corners")
    if align_corners or written(pick):
        attrs["align_corners"] = align_corners
    attrs[OPERANDS] = ["in", const(size)]
    return attrs, [(batch, spatial, spatial + 1)], dtype


kind("AffineGrid", FAMILY, _draw_affine_grid, {"spatial": [2, 3], "align_corners": [0, 1]},
     dtypes=AFFINE_GRID_DTYPES, free_batch=False)  # no drawn case can have a free batch (measured)
