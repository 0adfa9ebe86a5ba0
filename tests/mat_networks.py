"""What the tests of MATLAB networks share: the folder of real MATLAB-written networks (the
shared fixtures), a small convolution's attributes for ``network_spec``, and the two layers
FFDNet needs that no handler imports, written as a user writes them."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from harness.mat.reader import numbers

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("PARITY_FIXTURES", REPO.parent / "shared" / "fixtures"))
CONV = {"k": [3, 3], "filters": 4, "stride": [1, 1], "dilation": [1, 1],
        "pad": [1, 1, 1, 1], "groups": 1, "bias": True}


class SubPixel(nn.Module):
    """FFDNet's vl_nnSubP. scale < 1: H×W×C → (H/s)×(W/s)×(C·s²); scale > 1: the inverse.
    Sub-image (a, b) (row offset a, column offset b) goes to channel c·s² + b·s + a: the row
    offset runs fastest, unlike PyTorch's pixel_unshuffle (c·s² + a·s + b)."""

    def __init__(self, scale: float):
        super().__init__()
        self.down = scale < 1
        self.factor = round(1 / scale) if scale < 1 else round(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.factor
        if self.down:
            x = x.reshape(n, c, h // s, s, w // s, s).permute(0, 1, 5, 3, 2, 4)
            return x.reshape(n, c * s * s, h // s, w // s)
        x = x.reshape(n, c // (s * s), s, s, h, w).permute(0, 1, 4, 3, 5, 2)
        return x.reshape(n, c // (s * s), h * s, w * s)


class NoiseLevelMap(nn.Module):
    """FFDNet's `concat`: appends a constant noise-level channel (sigma in [0, 1] units)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, torch.full_like(x[:, :1], self.sigma)], dim=1)


def ffdnet_handlers(sigma: float) -> dict:
    """The handlers of FFDNet's two custom layer types, by type, its noise level ``sigma``."""
    return {
        "SubP": lambda layer: SubPixel(numbers(layer.attrs["scale"])[0]),
        "concat": lambda layer: NoiseLevelMap(sigma),
    }
