"""Task-level agreement between a leg's outputs and the reference, beside elementwise metrics.

A classifier's user asks whether the converted model picks the same classes; an
image-to-image model's user asks how far the images are apart. So:

- **classifier outputs** (rank 2, one row per example, at least ten classes or rows that are
  probability distributions): top-1 agreement (the fraction of rows whose arg-max is the
  reference's) and top-5 agreement (rows whose five highest classes are the reference's
  five, in any order; only with more than five classes);
- **image-to-image outputs** (rank 4 with the spatial size of an input, in either layout):
  PSNR of the leg's image against the reference's, in dB, the peak being the reference's
  value range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MIN_CLASSES = 10


def is_classifier(output: np.ndarray) -> bool:
    if output.ndim != 2 or output.shape[1] < 2 or output.dtype.kind != "f":
        return False
    if output.shape[1] >= MIN_CLASSES:
        return True
    rows = output.astype(np.float64)
    return bool((rows >= 0).all() and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))


def _spatial(shape: tuple[int, ...]) -> set[tuple[int, int]]:
    if len(shape) != 4:
        return set()
    return {(shape[1], shape[2]), (shape[2], shape[3])}


def is_image(output: np.ndarray, inputs: list[np.ndarray]) -> bool:
    if output.ndim != 4 or output.dtype.kind != "f":
        return False
    sizes = set().union(*(_spatial(x.shape) for x in inputs)) if inputs else set()
    return bool(_spatial(output.shape) & sizes)


def top_k_agreement(actual: np.ndarray, expected: np.ndarray, k: int) -> tuple[int, int]:
    """(rows that agree, rows): top-1 by arg-max, top-k by the set of the k largest."""
    if k == 1:
        agree = np.argmax(actual, axis=1) == np.argmax(expected, axis=1)
    else:
        top_a = np.sort(np.argsort(-actual, axis=1, kind="stable")[:, :k], axis=1)
        top_e = np.sort(np.argsort(-expected, axis=1, kind="stable")[:, :k], axis=1)
        agree = (top_a == top_e).all(axis=1)
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
            inputs: list[np.ndarray]) -> None:
        for actual, expected in zip(outputs, reference):
            actual, expected = np.asarray(actual), np.asarray(expected)
            if actual.shape != expected.shape:
                continue
            if is_classifier(expected):
                for tally, k in ((self.top1, 1), (self.top5, 5)):
                    if k < expected.shape[1]:
                        agree, rows = top_k_agreement(actual, expected, k)
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
