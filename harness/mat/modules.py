"""PyTorch modules that compute MATLAB's semantics where PyTorch's built-ins differ.

Each takes PyTorch layouts (N×C×H×W images, N×T×C sequences, N×C features). Where a built-in
module matches MATLAB exactly the handlers use it directly; these cover asymmetric padding,
MATLAB's pooling padding rules, MatConvNet's LRN window, column-major flattening and the
recurrent layers' initial states and reset-gate modes. All are `torch.export`-able and
TorchScript-compatible.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """MATLAB's (and TensorFlow's) 'same' padding: output ceil(size/stride), odd pixel last."""
    effective = (kernel - 1) * dilation + 1
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: Tensor, kernel: list[int], stride: list[int], dilation: list[int],
              value: float) -> Tensor:
    top, bottom = same_padding(x.shape[2], kernel[0], stride[0], dilation[0])
    left, right = same_padding(x.shape[3], kernel[1], stride[1], dilation[1])
    return F.pad(x, [left, right, top, bottom], value=value)


def _pad_tblr(x: Tensor, pad: list[int], value: float) -> Tensor:
    if pad[0] == 0 and pad[1] == 0 and pad[2] == 0 and pad[3] == 0:
        return x
    # MATLAB orders padding [top bottom left right]; F.pad wants [left right top bottom].
    return F.pad(x, [pad[2], pad[3], pad[0], pad[1]], value=value)


def _weight_and_bias(module: nn.Module, weight: Tensor, bias: Tensor | None) -> None:
    """A convolution's parameters; a missing bias stays a registered None."""
    module.weight = nn.Parameter(weight)
    if bias is None:
        module.register_parameter("bias", None)  # keeps TorchScript's attribute type known
    else:
        module.bias = nn.Parameter(bias)


class Conv2d(nn.Module):
    """2-D correlation with MATLAB padding ([top bottom left right] or 'same').

    `groups == 0` infers the group count at run time from the input's channels, as MatConvNet
    does (its filters are kH×kW×(C/G)×F and never state G)."""

    def __init__(self, weight: Tensor, bias: Tensor | None, stride: list[int],
                 padding: list[int], dilation: list[int], groups: int = 1, same: bool = False,
                 pad_value: float = 0.0):
        super().__init__()
        _weight_and_bias(self, weight, bias)
        self.stride = [int(s) for s in stride]
        self.padding = [int(p) for p in padding]
        self.dilation = [int(d) for d in dilation]
        self.kernel = [int(weight.shape[2]), int(weight.shape[3])]
        self.groups = int(groups)
        self.same = bool(same)
        self.pad_value = float(pad_value)
        self.symmetric_zero_padding = (
            self.padding[0] == self.padding[1] and self.padding[2] == self.padding[3]
            and self.pad_value == 0.0)

    def extra_repr(self) -> str:
        return (f"out={self.weight.shape[0]}, in_per_group={self.weight.shape[1]}, "
                f"kernel={self.kernel}, stride={self.stride}, padding="
                f"{'same' if self.same else self.padding}, dilation={self.dilation}, "
                f"groups={self.groups or 'from input'}")

    def forward(self, x: Tensor) -> Tensor:
        groups = self.groups if self.groups > 0 else x.shape[1] // self.weight.shape[1]
        if self.same:
            x = _pad_same(x, self.kernel, self.stride, self.dilation, self.pad_value)
        elif self.symmetric_zero_padding:  # the convolution pads itself: faster than F.pad
            return F.conv2d(x, self.weight, self.bias, self.stride,
                            [self.padding[0], self.padding[2]], self.dilation, groups)
        else:
            x = _pad_tblr(x, self.padding, self.pad_value)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, groups)


class ConvTranspose2d(nn.Module):
    """Transposed convolution with MATLAB's output cropping [top bottom left right]."""

    def __init__(self, weight: Tensor, bias: Tensor | None, stride: list[int],
                 crop: list[int], groups: int = 1, dilation: list[int] | None = None):
        super().__init__()
        _weight_and_bias(self, weight, bias)
        self.stride = [int(s) for s in stride]
        self.crop = [int(c) for c in crop]
        self.groups = int(groups)
        self.dilation = [int(d) for d in (dilation or [1, 1])]

    def extra_repr(self) -> str:
        return (f"in={self.weight.shape[0]}, out_per_group={self.weight.shape[1]}, "
                f"stride={self.stride}, crop={self.crop}, groups={self.groups}")

    def forward(self, x: Tensor) -> Tensor:
        y = F.conv_transpose2d(x, self.weight, self.bias, self.stride, 0, 0, self.groups,
                               self.dilation)
        return y[:, :, self.crop[0]:y.shape[2] - self.crop[1],
                 self.crop[2]:y.shape[3] - self.crop[3]]


class Pool2d(nn.Module):
    """Max or average pooling with MATLAB padding rules.

    Max pooling pads with −Inf. Average pooling either counts padded zeros in the divisor
    (DLT PaddingValue 0) or excludes them (DLT 'mean', MatConvNet), for any padding, also
    asymmetric ones that PyTorch's `count_include_pad` cannot express."""

    def __init__(self, method: str, kernel: list[int], stride: list[int], padding: list[int],
                 count_include_pad: bool = False, same: bool = False):
        super().__init__()
        if method not in ("max", "avg"):
            raise ValueError(f"pooling method must be 'max' or 'avg', not {method!r}")
        self.is_max = method == "max"
        self.kernel = [int(k) for k in kernel]
        self.stride = [int(s) for s in stride]
        self.padding = [int(p) for p in padding]
        self.count_include_pad = bool(count_include_pad)
        self.same = bool(same)

    def extra_repr(self) -> str:
        method = "max" if self.is_max else ("avg, padding counted" if self.count_include_pad
                                            else "avg, padding excluded")
        return (f"{method}, kernel={self.kernel}, stride={self.stride}, "
                f"padding={'same' if self.same else self.padding}")

    def _pad(self, x: Tensor, value: float) -> Tensor:
        if self.same:
            return _pad_same(x, self.kernel, self.stride, [1, 1], value)
        return _pad_tblr(x, self.padding, value)

    def forward(self, x: Tensor) -> Tensor:
        if self.is_max:
            return F.max_pool2d(self._pad(x, -math.inf), self.kernel, self.stride)
        pooled = F.avg_pool2d(self._pad(x, 0.0), self.kernel, self.stride)
        if self.count_include_pad:
            return pooled
        ones = torch.ones_like(x[:1, :1])
        share = F.avg_pool2d(self._pad(ones, 0.0), self.kernel, self.stride)
        return pooled / share


class GlobalPool2d(nn.Module):
    """Mean or max over H and W, keeping MATLAB's 1×1 spatial size (N×C×1×1)."""

    def __init__(self, method: str):
        super().__init__()
        self.is_max = method == "max"

    def forward(self, x: Tensor) -> Tensor:
        if self.is_max:
            return torch.amax(x, dim=(2, 3), keepdim=True)
        return torch.mean(x, dim=(2, 3), keepdim=True)


class CrossChannelNorm(nn.Module):
    """y = x / (k + alpha · Σ x²)^beta over a window of `size` channels around each channel,
    the window running from c − ⌊(size−1)/2⌋ to c + ⌈(size−1)/2⌉ (MatConvNet's window, also
    right for even sizes). `alpha` multiplies the plain sum: MatConvNet's `param(3)`, or the
    DLT Alpha divided by WindowChannelSize."""

    def __init__(self, size: int, alpha: float, beta: float, k: float):
        super().__init__()
        self.size = int(size)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, x: Tensor) -> Tensor:
        squared = (x * x).unsqueeze(1)  # N×1×C×H×W: the window slides over C
        before = (self.size - 1) // 2
        after = self.size - 1 - before
        squared = F.pad(squared, [0, 0, 0, 0, before, after])
        window_sum = F.avg_pool3d(squared, (self.size, 1, 1), stride=1).squeeze(1) * self.size
        return x / torch.pow(self.k + self.alpha * window_sum, self.beta)


class BatchNorm(nn.BatchNorm2d):
    """Inference batch norm for N×C, N×C×H×W (channels second) and N×T×C (channels last)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in (2, 3, 4, 5):
            raise ValueError(f"expected a 2-D to 5-D input, got {input.dim()}-D")

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 3:
            return super().forward(x.transpose(1, 2)).transpose(1, 2)
        return super().forward(x)


class SigmaNorm(nn.Module):
    """MatConvNet's inference batch norm, y = gain·(x − mean)/sigma + bias, computed as written.

    MatConvNet stores sigma with epsilon already inside it, so there is no epsilon to add; built
    as `BatchNorm(eps=0)` this would rest on torch accepting a zero epsilon, which torch 2.11
    refuses ("batch_norm eps must be positive"). Channels second, or last for N×T×C.
    """

    def __init__(self, gain: Tensor, bias: Tensor, mean: Tensor, sigma: Tensor):
        super().__init__()
        self.weight = nn.Parameter(gain)
        self.bias = nn.Parameter(bias)
        self.register_buffer("mean", mean)
        self.register_buffer("sigma", sigma)

    def forward(self, x: Tensor) -> Tensor:
        shape = [1, 1, -1] if x.dim() == 3 else [1, -1] + [1] * (x.dim() - 2)
        scale = (self.weight / self.sigma).reshape(shape)
        return (x - self.mean.reshape(shape)) * scale + self.bias.reshape(shape)


class LayerNorm(nn.Module):
    """DLT layer normalisation: over C, H and W for images with a per-channel scale (that is
    GroupNorm(1, C), not LayerNorm([C, H, W])), over C for features and sequences."""

    def __init__(self, scale: Tensor, offset: Tensor, eps: float):
        super().__init__()
        self.weight = nn.Parameter(scale)
        self.bias = nn.Parameter(offset)
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            # By hand, not F.group_norm: torch refuses a group of one value ("Expected more
            # than 1 value per channel when training"), which a 1x1 image of one channel is
            # (after a global pooling); MATLAB normalises it to the offset.
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            variance = x.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
            shape = [1, -1, 1, 1]
            return ((x - mean) * torch.rsqrt(variance + self.eps) * self.weight.reshape(shape)
                    + self.bias.reshape(shape))
        return F.layer_norm(x, [self.weight.shape[0]], self.weight, self.bias, self.eps)


class Softmax(nn.Module):
    """Softmax over channels: axis 1 of N×C×H×W and N×C, the last axis of N×T×C."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(x, dim=-1 if x.dim() == 3 else 1)


class Concat(nn.Module):
    """Concatenation of the layer's inputs along one PyTorch axis."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, xs: list[Tensor]) -> Tensor:
        return torch.cat(xs, dim=self.dim)


class ChannelConcat(nn.Module):
    """Concatenation along channels: axis 1 of images and features, the last of sequences."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        return torch.cat(xs, dim=-1 if xs[0].dim() == 3 else 1)


class Sum(nn.Module):
    """Element-wise sum of the layer's inputs."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


def matlab_flatten(x: Tensor) -> Tensor:
    """N×C×H×W → N×(H·W·C) in MATLAB's column-major order (h fastest, then w, then c)."""
    return x.permute(0, 1, 3, 2).reshape(x.shape[0], -1)


class Flatten(nn.Module):
    """DLT flatten: images to features in MATLAB's column-major order."""

    def forward(self, x: Tensor) -> Tensor:
        return matlab_flatten(x) if x.dim() == 4 else x


class FullyConnected(nn.Linear):
    """MATLAB's fully connected layer: weights O×I as stored; an image input is flattened in
    MATLAB's column-major order first, so the stored weights apply unchanged."""

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            x = matlab_flatten(x)
        return super().forward(x)


class InputNormalization(nn.Module):
    """DLT input layer normalisation: y = (x − shift) · factor, with shift and factor
    broadcast in PyTorch layout (precomputed from Mean/StandardDeviation/Min/Max)."""

    def __init__(self, shift: Tensor, factor: Tensor, mode: str):
        super().__init__()
        self.register_buffer("shift", shift)
        self.register_buffer("factor", factor)
        self.mode = mode

    def extra_repr(self) -> str:
        return f"normalization={self.mode!r}"

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.shift) * self.factor


class LSTM(nn.Module):
    """DLT LSTM on N×T×C with its stored initial states; OutputMode 'sequence' → N×T×H
    (N×T×2H bidirectional), 'last' → N×H (the last time step of that sequence)."""

    def __init__(self, lstm: nn.LSTM, h0: Tensor, c0: Tensor, last: bool):
        super().__init__()
        self.lstm = lstm
        self.register_buffer("h0", h0)  # directions × H
        self.register_buffer("c0", c0)
        self.last = bool(last)

    def forward(self, x: Tensor) -> Tensor:
        batch = x.shape[0]
        h0 = self.h0.unsqueeze(1).expand(-1, batch, -1).contiguous()
        c0 = self.c0.unsqueeze(1).expand(-1, batch, -1).contiguous()
        y, _ = self.lstm(x, (h0, c0))
        return y[:, -1] if self.last else y


class GRU(nn.Module):
    """DLT GRU on N×T×C, gates [r z h].

    `reset_before` (ResetGateMode 'before-multiplication') computes the candidate as
    tanh(W_h x + b_h + R_h (r ⊙ h)), which `nn.GRU` cannot express; the other modes apply
    the reset gate after the recurrent product, as `nn.GRU` does."""

    def __init__(self, input_weights: Tensor, recurrent_weights: Tensor, bias_ih: Tensor,
                 bias_hh: Tensor, h0: Tensor, last: bool, reset_before: bool):
        super().__init__()
        self.weight_ih = nn.Parameter(input_weights)
        self.weight_hh = nn.Parameter(recurrent_weights)
        self.bias_ih = nn.Parameter(bias_ih)
        self.bias_hh = nn.Parameter(bias_hh)
        self.register_buffer("h0", h0)
        self.hidden = int(recurrent_weights.shape[1])
        self.last = bool(last)
        self.reset_before = bool(reset_before)

    def extra_repr(self) -> str:
        mode = "before-multiplication" if self.reset_before else "after-multiplication"
        return f"hidden={self.hidden}, reset_gate={mode}, last={self.last}"

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.hidden
        h = self.h0.unsqueeze(0).expand(x.shape[0], -1)
        gates_x = F.linear(x, self.weight_ih, self.bias_ih)  # N×T×3H
        r_w, z_w, h_w = self.weight_hh.split(hidden, 0)
        r_b, z_b, h_b = self.bias_hh.split(hidden, 0)
        outputs: list[Tensor] = []
        for t in range(x.shape[1]):
            gx = gates_x[:, t]
            r = torch.sigmoid(gx[:, :hidden] + F.linear(h, r_w, r_b))
            z = torch.sigmoid(gx[:, hidden:2 * hidden] + F.linear(h, z_w, z_b))
            if self.reset_before:
                candidate = torch.tanh(gx[:, 2 * hidden:] + F.linear(r * h, h_w, h_b))
            else:
                candidate = torch.tanh(gx[:, 2 * hidden:] + r * F.linear(h, h_w, h_b))
            h = (1 - z) * candidate + z * h
            outputs.append(h)
        if self.last:
            return outputs[-1]
        return torch.stack(outputs, dim=1)
