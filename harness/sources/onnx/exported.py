"""Graphs as torch.onnx writes them (family ``patterns``, kind ``TorchExported``): common
blocks built in the run from seeded torch modules (no downloaded weights) and exported by
``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``, constant folding on, as
users call it), so that the rewriters see the graphs they are written for: Conv + BN + ReLU
(the BN folded by the exporter), Linear, LayerNorm, GELU (exact and tanh), self-attention,
a residual block and a depthwise-separable block.

The dynamo exporter is not drawn: one export took 17 s here (2026-11-25, a 2-core machine
under load), against 0.4 s for the TorchScript exporter, beyond the ci budget of a kind.
"""

from __future__ import annotations

import io
from typing import Any

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.sources.onnx.build import OPSET
from harness.sources.onnx.op import SOURCE

BLOCKS = ["conv_bn_relu", "linear", "layernorm", "gelu", "attention", "residual",
          "depthwise_separable"]
DOMAINS: dict[str, list[Any]] = {
    "block": BLOCKS,
    OPSET: [17, 14, 18],
    "batch": [1, 2],
    "channels": [2, 3, 4],
    "size": [4, 3, 5],
    "seq": [3, 2, 4],
    "dim": [4, 8],
    "heads": [1, 2],
    "approximate": ["none", "tanh"],
}
IMAGE_BLOCKS = ("conv_bn_relu", "residual", "depthwise_separable")


def _draw(pick: Picker):
    block = pick("block")
    attrs = {"block": block, OPSET: pick(OPSET),
             "weights_seed": pick.draw(st.integers(0, 2**16 - 1))}
    n = pick("batch")
    if block in IMAGE_BLOCKS:
        attrs["channels"] = pick("channels")
        size = pick("size")
        return attrs, [(n, attrs["channels"], size, size)], "float32"
    attrs["dim"] = pick("dim")
    if block == "attention":
        attrs["heads"] = pick("heads")
    if block == "gelu":
        attrs["approximate"] = pick("approximate")
    return attrs, [(n, pick("seq"), attrs["dim"])], "float32"


def module(attrs: dict[str, Any]):
    """The seeded torch module of a block, in eval mode, its BatchNorm statistics drawn."""
    import torch
    from torch import nn

    torch.manual_seed(int(attrs["weights_seed"]))
    block = attrs["block"]
    if block in IMAGE_BLOCKS:
        c = int(attrs["channels"])
        if block == "conv_bn_relu":
            net = nn.Sequential(nn.Conv2d(c, c + 1, 3, padding=1, bias=False),
                                nn.BatchNorm2d(c + 1), nn.ReLU())
        elif block == "depthwise_separable":
            net = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c), nn.BatchNorm2d(c),
                                nn.ReLU6(), nn.Conv2d(c, 2 * c, 1), nn.BatchNorm2d(2 * c),
                                nn.ReLU6())
        else:
            net = Residual(c)
    else:
        d = int(attrs["dim"])
        if block == "linear":
            net = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        elif block == "layernorm":
            net = nn.LayerNorm(d)
        elif block == "gelu":
            net = nn.Sequential(nn.Linear(d, d), nn.GELU(approximate=attrs["approximate"]))
        else:
            net = SelfAttention(d, int(attrs["heads"]))
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.normal_(0.0, 0.5)
                layer.running_var.uniform_(0.25, 2.0)
            if isinstance(layer, nn.LayerNorm):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.normal_(0.0, 0.5)
    return net.eval()


def _residual_class():
    from torch import nn

    class ResidualBlock(nn.Module):
        """x + Conv(ReLU(Conv(x))), then ReLU: a ResNet basic block without its norms."""

        def __init__(self, c: int):
            super().__init__()
            self.first = nn.Conv2d(c, c, 3, padding=1)
            self.second = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return (x + self.second(self.first(x).relu())).relu()

    return ResidualBlock


def _attention_class():
    from torch import nn

    class SelfAttentionBlock(nn.Module):
        """nn.MultiheadAttention over (batch, seq, dim) with the input as query, key and
        value, its output only."""

        def __init__(self, d: int, heads: int):
            super().__init__()
            self.attention = nn.MultiheadAttention(d, heads, batch_first=True)

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    return SelfAttentionBlock


def Residual(c: int):  # noqa: N802  (a class, made where torch is imported)
    return _residual_class()(c)


def SelfAttention(d: int, heads: int):  # noqa: N802  (a class, made where torch is imported)
    return _attention_class()(d, heads)


def build_exported(attrs: dict[str, Any], shapes, dtype: str):
    """The ModelProto torch.onnx.export (TorchScript) writes for the block."""
    import onnx
    import torch

    net = module(attrs)
    example = torch.zeros(tuple(shapes[0]))
    buffer = io.BytesIO()
    torch.onnx.export(net, (example,), buffer, dynamo=False, opset_version=int(attrs[OPSET]),
                      input_names=["input_0"], output_names=["output_0"],
                      do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


register(LayerKind(
    name="TorchExported", family="patterns", domains=DOMAINS, draw=_draw,
    build_model=build_exported, source=SOURCE, dtypes=(), free_dims=(),
    doc="a seeded torch block (Conv + BN + ReLU, Linear, LayerNorm, GELU exact or tanh, "
        "self-attention, a residual block, a depthwise-separable block) as torch.onnx.export "
        "writes it (TorchScript exporter, constant folding on)"))
