"""Task-level agreement between a leg's outputs and the reference, beside elementwise metrics.

A classifier's user asks whether the converted model picks the same classes; an
image-to-image model's user asks how far the images are apart. So:

- **classifier outputs** (rank 2, one row per example, at least ten classes or rows that are
  probability distributions): top-1 agreement (the fraction of rows whose arg-max is the
  reference's) and top-5 agreement (rows whose five highest classes are the reference's
  five, in any order; only with more than five classes). Classes the reference cannot tell
  apart within the leg's tolerance are not told apart here either: a row agrees when its
  top-k set differs from the reference's only among classes whose reference values lie within
  the leg's tolerance of the k-th value. A saturated softmax ties its small classes (0 in a
  reference that flushes denormals, 1e-40 in the leg): compared blindly, such rows disagree
  on noise far below any tolerance;
- **image-to-image outputs** (rank 4 with the spatial size of an input, or an integer multiple
  of it with the input's channels, as a super-resolution model's; in either layout): PSNR of
  the leg's image against the reference's, in dB, the peak being the reference's value range.

Only float tensors count: a class label (an integer or string tensor), a sequence or a map
(ZipMap's probabilities) is compared exactly (``harness.core.compare``), and a classifier's
probabilities beside its label give its top-1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.core.compare import is_float_tensor, is_structure

MIN_CLASSES = 10


def is_classifier(output: np.ndarray) -> bool:
    if output.ndim != 2 or output.shape[1] < 2 or output.dtype.kind != "f":
        return False
    if output.shape[1] >= MIN_CLASSES:
        return True
    rows = output.astype(np.float64)
    return bool((rows >= 0).all() and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))


def _layouts(shape: tuple[int, ...]) -> list[tuple[int, tuple[int, int]]]:
    """(channels, (height, width)) of a rank-4 shape read as NCHW and as NHWC."""
    if len(shape) != 4:
        return []
    return [(shape[1], (shape[2], shape[3])), (shape[3], (shape[1], shape[2]))]


def image_scale(output: np.ndarray, inputs: list[np.ndarray]) -> int | None:
    """The integer factor by which an image output's spatial size is an input's: 1 for an
    output at an input's own size (a denoiser), 2 for a x2 super-resolution model (which keeps
    the input's channels); None when the output is not such an image."""
    if output.ndim != 4 or output.dtype.kind != "f":
        return None
    found = None
    for out_channels, (height, width) in _layouts(output.shape):
        for x in inputs:
            for channels, (in_height, in_width) in _layouts(np.shape(x)):
                if (height, width) == (in_height, in_width):
                    return 1
                if (in_height and in_width and out_channels == channels
                        and height % in_height == 0 and width % in_width == 0
                        and height // in_height == width // in_width > 1):
                    scale = height // in_height
                    found = scale if found is None else min(found, scale)
    return found


def is_image(output: np.ndarray, inputs: list[np.ndarray]) -> bool:
    return image_scale(output, inputs) is not None


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """A boolean mask of each row's k largest values (ties broken by the lower index)."""
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, np.argsort(-values, axis=1, kind="stable")[:, :k], True, axis=1)
    return mask


def top_k_agreement(actual: np.ndarray, expected: np.ndarray, k: int, atol: float = 0.0,
                    rtol: float = 0.0) -> tuple[int, int]:
    """(rows that agree, rows): a row agrees when its k highest classes in ``actual`` are k
    highest classes of ``expected`` within tolerance: some outputs within ``atol + rtol * |e|``
    of every reference value ``e`` would rank them first. So the two sets may differ only
    among classes whose reference values lie within tolerance of the k-th value, a leg that
    agrees elementwise agrees on every row, and with atol and rtol 0 only exact ties are
    forgiven (k=1: the arg-max)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    chosen = _top_k(a, min(k, e.shape[1]))
    room = atol + rtol * np.abs(e)
    with np.errstate(invalid="ignore"):
        # The chosen classes raised to the top of their tolerance, the others lowered.
        lowest_chosen = np.where(chosen, e + room, np.inf).min(axis=1)
        highest_other = np.where(chosen, -np.inf, e - room).max(axis=1)
        agree = lowest_chosen >= highest_other
    return int(agree.sum()), int(agree.size)


def psnr(actual: np.ndarray, expected: np.ndarray) -> float:
    """PSNR in dB with the reference's value range as the peak; inf for identical images."""
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    mse = float(np.mean((a - e) ** 2))
    peak = float(e.max() - e.min()) or 1.0
    if mse == 0.0:
        return math.inf
    if not math.isfinite(mse):
        return -math.inf
    return 10.0 * math.log10(peak * peak / mse)


class TaskTally:
    """Task-level agreement of one leg, summed over the sizes a case runs at."""

    def __init__(self) -> None:
        self.top1 = [0, 0]
        self.top5 = [0, 0]
        self.psnr: list[float] = []

    def add(self, outputs: list[np.ndarray], reference: list[np.ndarray],
            inputs: list[np.ndarray], tolerance=None) -> None:
        """``tolerance`` (atol, rtol): the leg's own, within which classes are tied."""
        atol, rtol = (tolerance.atol, tolerance.rtol) if tolerance is not None else (0.0, 0.0)
        for actual, expected in zip(outputs, reference):
            if is_structure(actual) or is_structure(expected):
                continue  # a sequence or map (ZipMap's probabilities): compared exactly
            actual, expected = np.asarray(actual), np.asarray(expected)
            if actual.shape != expected.shape or not is_float_tensor(expected) \
                    or not is_float_tensor(actual):
                continue  # a label (integers or strings): compared exactly
            if is_classifier(expected):
                for tally, k in ((self.top1, 1), (self.top5, 5)):
                    if k < expected.shape[1]:
                        agree, rows = top_k_agreement(actual, expected, k, atol, rtol)
                        tally[0] += agree
                        tally[1] += rows
            elif is_image(expected, inputs):
                self.psnr.append(psnr(actual, expected))

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.top1[1]:
            found["top1"] = self.top1[0] / self.top1[1]
            found["top1_rows"] = self.top1[1]
        if self.top5[1]:
            found["top5"] = self.top5[0] / self.top5[1]
        if self.psnr:
            found["psnr_db"] = min(self.psnr)
        return found


def describe(task: dict[str, Any]) -> str:
    parts = []
    if "top1" in task:
        parts.append(f"top-1 {task['top1']:.0%}")
    if "top5" in task:
        parts.append(f"top-5 {task['top5']:.0%}")
    if "psnr_db" in task:
        value = task["psnr_db"]
        parts.append("PSNR inf dB" if value == math.inf else f"PSNR {value:.1f} dB")
    return ", ".join(parts)
