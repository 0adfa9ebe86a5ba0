"""Handlers for MatConvNet layer types (SimpleNN names; DagNN blocks are renamed to these)."""

from __future__ import annotations

from torch import nn

from harness.mat import modules
from harness.mat.handlers.params import (
    fail,
    floats,
    ints,
    scalar,
    shaped,
    tensor,
    vector,
    word,
)
from harness.mat.handlers.table import builtin
from harness.mat.layout import conv_weight_to_torch, convt_weight_to_torch, dim_to_torch
from harness.mat.network import Layer


def _padding(layer: Layer, key: str = "pad") -> list[int]:
    pad = ints(layer, key, 4, default=0)
    if any(p < 0 for p in pad):
        raise fail(layer, f"negative padding {pad}")
    return pad


def _weights(layer: Layer) -> list:
    return list(layer.params.values())


@builtin("conv")
def conv(layer: Layer) -> nn.Module:
    arrays = _weights(layer)
    if not arrays:
        raise fail(layer, "has no filters (weights{1} is empty)")
    # A bank with one filter is stored kH×kW×C (MATLAB dropped the trailing 1).
    filters = shaped(layer, arrays[0], 4, "weights{1} (filters)")
    out_channels = filters.shape[3]
    bias = vector(layer, arrays[1] if len(arrays) > 1 and arrays[1].size else None,
                  out_channels, "weights{2} (biases)")
    declared = layer.attrs.get("size")
    if declared is not None and floats(layer, "size"):
        size = [int(v) for v in floats(layer, "size")] + [1] * 4
        if tuple(size[:4]) != filters.shape:
            raise fail(layer, f"weights{{1}} has size {list(filters.shape)}, but the layer "
                              f"declares size {size[:4]}")
    return modules.Conv2d(
        tensor(conv_weight_to_torch(filters)),
        None if bias is None else tensor(bias),
        stride=ints(layer, "stride", 2, default=1),
        padding=_padding(layer),
        dilation=ints(layer, "dilate", 2, default=1),
        groups=0,  # MatConvNet infers groups from the input depth
    )


@builtin("convt")
def convt(layer: Layer) -> nn.Module:
    arrays = _weights(layer)
    if not arrays:
        raise fail(layer, "has no filters (weights{1} is empty)")
    filters = shaped(layer, arrays[0], 4, "weights{1} (filters)")  # kH×kW×K×D
    groups = int(scalar(layer, "numGroups", 1))
    if filters.shape[3] % groups:
        raise fail(layer, f"numGroups {groups} does not divide the filter depth "
                          f"{filters.shape[3]}")
    out_channels = filters.shape[2] * groups
    bias = vector(layer, arrays[1] if len(arrays) > 1 and arrays[1].size else None,
                  out_channels, "weights{2} (biases)")
    return modules.ConvTranspose2d(
        tensor(convt_weight_to_torch(filters)),
        None if bias is None else tensor(bias),
        stride=ints(layer, "upsample", 2, default=1),
        crop=ints(layer, "crop", 4, default=0),
        groups=groups,
    )


@builtin("pool")
def pool(layer: Layer) -> nn.Module:
    method = word(layer, "method", "max")
    if method not in ("max", "avg"):
        raise fail(layer, f"unknown pooling method '{method}' (MatConvNet has 'max', 'avg')")
    kernel = ints(layer, "pool", 2)
    pad = _padding(layer)
    if pad[0] >= kernel[0] or pad[1] >= kernel[0] or pad[2] >= kernel[1] or pad[3] >= kernel[1]:
        raise fail(layer, f"padding {pad} must be smaller than the pool size {kernel}")
    # vl_nnpool: max pads with −Inf; avg divides by the count of unpadded pixels.
    return modules.Pool2d(method, kernel, ints(layer, "stride", 2, default=1), pad,
                          count_include_pad=False)


@builtin("relu")
def relu(layer: Layer) -> nn.Module:
    leak = scalar(layer, "leak", 0.0)
    return nn.ReLU() if leak == 0 else nn.LeakyReLU(leak)


@builtin("sigmoid")
def sigmoid(layer: Layer) -> nn.Module:
    return nn.Sigmoid()


@builtin("softmax")
def softmax(layer: Layer) -> nn.Module:
    return modules.Softmax()


@builtin("dropout")
def dropout(layer: Layer) -> nn.Module:
    return nn.Dropout(scalar(layer, "rate", 0.5))  # identity in eval mode, as at test time


@builtin("lrn")
def lrn(layer: Layer) -> nn.Module:
    values = floats(layer, "param", [5, 1, 1e-4, 0.75])
    if len(values) != 4:
        raise fail(layer, f"param must be [N kappa alpha beta], not {values}")
    size, kappa, alpha, beta = values
    if size != int(size) or size < 1:
        raise fail(layer, f"LRN window size must be a positive integer, not {size}")
    return modules.CrossChannelNorm(int(size), alpha=alpha, beta=beta, k=kappa)


@builtin("bnorm")
def bnorm(layer: Layer) -> nn.Module:
    arrays = _weights(layer)
    if len(arrays) < 3:
        raise fail(layer, f"needs weights {{gain, bias, moments}}; it has {len(arrays)} arrays "
                          "(a bnorm without moments has not been trained)")
    gain = arrays[0].ravel(order="F")
    channels = gain.size
    bias = vector(layer, arrays[1], channels, "weights{2} (bias)")
    moments = shaped(layer, arrays[2], 2, "weights{3} (moments)")
    if moments.shape != (channels, 2):
        raise fail(layer, f"moments have size {list(moments.shape)}, expected [{channels} 2] "
                          "([mean, sigma] per channel)")
    # MatConvNet's sigma already includes epsilon: y = g·(x − mean)/sigma + b.
    module = modules.SigmaNorm(tensor(gain), tensor(bias), tensor(moments[:, 0]),
                               tensor(moments[:, 1]))
    return module.eval()


@builtin("concat")
def concat(layer: Layer) -> nn.Module:
    if len(layer.inputs) < 2:
        raise fail(layer, "a built-in concat needs at least two inputs (DagNN); a SimpleNN "
                          "concat is a custom layer: register a handler for 'concat'")
    return modules.Concat(dim_to_torch(int(scalar(layer, "dim", 3))))


@builtin("sum")
def sum_(layer: Layer) -> nn.Module:
    return modules.Sum()
