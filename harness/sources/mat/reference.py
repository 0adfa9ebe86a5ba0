"""A NumPy reference of MATLAB's layer semantics, written from MATLAB's and MatConvNet's
documentation, in MATLAB layouts (H×W×C×N images, C×N×T sequences, C×N features), in float64.

It shares no code with the importer: windows are sliced explicitly, padding is applied as
MATLAB describes it, flattening is column-major. The conformance suite compares the imported
PyTorch module against it where Keras' semantics differ from MATLAB's.
"""

from __future__ import annotations

import numpy as np


def _pad(x: np.ndarray, pad, value: float) -> np.ndarray:
    top, bottom, left, right = pad
    return np.pad(x, ((top, bottom), (left, right), (0, 0), (0, 0)), constant_values=value)


def same_pad(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """MATLAB 'same': output ceil(size/stride), the odd pixel at the bottom/right."""
    extent = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def conv(x, w, b, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1, pad_value=0.0):
    """Correlation (no flip). w: kH×kW×(C/G)×F, F = G·Fpg; group g reads channels
    g·C/G…, writes filters g·Fpg…"""
    x = _pad(x, pad, pad_value)
    kh, kw, cpg, filters = w.shape
    sy, sx = stride
    dy, dx = dilation
    out_h = (x.shape[0] - (kh - 1) * dy - 1) // sy + 1
    out_w = (x.shape[1] - (kw - 1) * dx - 1) // sx + 1
    fpg = filters // groups
    y = np.zeros((out_h, out_w, filters, x.shape[3]))
    for g in range(groups):
        xg = x[:, :, g * cpg:(g + 1) * cpg]
        for a in range(kh):
            for c in range(kw):
                patch = xg[a * dy:a * dy + sy * (out_h - 1) + 1:sy,
                           c * dx:c * dx + sx * (out_w - 1) + 1:sx]
                y[:, :, g * fpg:(g + 1) * fpg] += np.einsum(
                    "hwcn,cf->hwfn", patch, w[a, c, :, g * fpg:(g + 1) * fpg])
    if b is not None:
        y += np.asarray(b).reshape(1, 1, -1, 1)
    return y


def convt(x, f, b, upsample=(1, 1), crop=(0, 0, 0, 0), groups=1):
    """MatConvNet vl_nnconvt / DLT transposed conv: f is kH×kW×K×D (D = input channels);
    with G groups, group g maps input channels g·D/G… to outputs g·K…; output size
    u·(H−1) + kH − crop_top − crop_bottom."""
    kh, kw, k, d = f.shape
    uy, ux = upsample
    h, w, _, n = x.shape
    dpg = d // groups
    y = np.zeros((uy * (h - 1) + kh, ux * (w - 1) + kw, k * groups, n))
    for g in range(groups):
        xg = x[:, :, g * dpg:(g + 1) * dpg]
        for a in range(kh):
            for c in range(kw):
                y[a:a + uy * (h - 1) + 1:uy, c:c + ux * (w - 1) + 1:ux, g * k:(g + 1) * k] += \
                    np.einsum("hwdn,kd->hwkn", xg, f[a, c, :, g * dpg:(g + 1) * dpg])
    if b is not None:
        y += np.asarray(b).reshape(1, 1, -1, 1)
    top, bottom, left, right = crop
    return y[top:y.shape[0] - bottom, left:y.shape[1] - right]


def pool(x, method, size, stride=(1, 1), pad=(0, 0, 0, 0), count_pad=False):
    """Max pools over −Inf padding; average divides by the window's unpadded pixel count
    (MatConvNet, DLT 'mean') or by the full window (DLT PaddingValue 0)."""
    kh, kw = size
    sy, sx = stride
    filler = -np.inf if method == "max" else 0.0
    xp = _pad(x, pad, filler)
    inside = _pad(np.ones((x.shape[0], x.shape[1], 1, 1)), pad, 0.0)
    out_h = (xp.shape[0] - kh) // sy + 1
    out_w = (xp.shape[1] - kw) // sx + 1
    y = np.full((out_h, out_w) + x.shape[2:], filler)
    count = np.zeros((out_h, out_w, 1, 1))
    for a in range(kh):
        for c in range(kw):
            window = xp[a:a + sy * (out_h - 1) + 1:sy, c:c + sx * (out_w - 1) + 1:sx]
            count += inside[a:a + sy * (out_h - 1) + 1:sy, c:c + sx * (out_w - 1) + 1:sx]
            y = np.maximum(y, window) if method == "max" else y + window
    if method == "max":
        return y
    return y / (kh * kw) if count_pad else y / count


def relu(x, leak=0.0):
    return np.where(x > 0, x, leak * x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax_channels(x, axis=2):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def lrn(x, size, kappa, alpha, beta):
    """MatConvNet vl_nnnormalize: x / (kappa + alpha·Σ x²)^beta, window
    c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉ (clipped at the edges); alpha not divided by size."""
    channels = x.shape[2]
    y = np.empty_like(x)
    for c in range(channels):
        low = max(0, c - (size - 1) // 2)
        high = min(channels, c + size - 1 - (size - 1) // 2 + 1)
        total = (x[:, :, low:high] ** 2).sum(axis=2)
        y[:, :, c] = x[:, :, c] / (kappa + alpha * total) ** beta
    return y


def batchnorm(x, gain, bias, mean, sigma, channel_axis=2):
    shape = [1] * x.ndim
    shape[channel_axis] = -1
    r = [np.asarray(v, dtype=np.float64).reshape(shape) for v in (gain, bias, mean, sigma)]
    return r[0] * (x - r[2]) / r[3] + r[1]


def flatten(x):
    """Column-major flatten of each H×W×C sample → (H·W·C)×N."""
    return x.reshape(-1, x.shape[3], order="F")


def fully_connected(x_features, w, b):
    return w @ x_features + np.asarray(b).reshape(-1, 1)


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm(x, wi, wr, bias, h0, c0, reverse=False):
    """x: D×N×T; gates [i f g o]; returns H×N×T."""
    hidden = wr.shape[1]
    h = np.repeat(h0.reshape(-1, 1), x.shape[1], axis=1)
    c = np.repeat(c0.reshape(-1, 1), x.shape[1], axis=1)
    steps = range(x.shape[2] - 1, -1, -1) if reverse else range(x.shape[2])
    out = np.zeros((hidden, x.shape[1], x.shape[2]))
    for t in steps:
        z = wi @ x[:, :, t] + wr @ h + bias.reshape(-1, 1)
        i, f, g, o = (z[k * hidden:(k + 1) * hidden] for k in range(4))
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        out[:, :, t] = h
    return out


def gru(x, wi, wr, bias, h0, reset_gate_mode):
    """x: D×N×T; gates [r z h]; MATLAB's three ResetGateMode variants; returns H×N×T."""
    hidden = wr.shape[1]
    bias = bias.reshape(-1)
    b_in = bias[:3 * hidden]
    b_rec = bias[3 * hidden:] if reset_gate_mode == "recurrent-bias-after-multiplication" \
        else np.zeros(3 * hidden)
    h = np.repeat(h0.reshape(-1, 1), x.shape[1], axis=1)
    out = np.zeros((hidden, x.shape[1], x.shape[2]))
    rows = [slice(k * hidden, (k + 1) * hidden) for k in range(3)]
    for t in range(x.shape[2]):
        xt = x[:, :, t]
        r = _sig(wi[rows[0]] @ xt + b_in[rows[0], None] + wr[rows[0]] @ h + b_rec[rows[0], None])
        z = _sig(wi[rows[1]] @ xt + b_in[rows[1], None] + wr[rows[1]] @ h + b_rec[rows[1], None])
        if reset_gate_mode == "before-multiplication":
            cand = np.tanh(wi[rows[2]] @ xt + b_in[rows[2], None] + wr[rows[2]] @ (r * h))
        else:
            cand = np.tanh(wi[rows[2]] @ xt + b_in[rows[2], None]
                           + r * (wr[rows[2]] @ h + b_rec[rows[2], None]))
        h = (1 - z) * cand + z * h
        out[:, :, t] = h
    return out


# --- Deep Learning Toolbox layers (images H×W×C×N, features C×N) ---------------------------


def elu(x, alpha=1.0):
    """eluLayer: x for x ≥ 0, Alpha·(exp(x) − 1) below."""
    return np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1.0))


def clipped_relu(x, ceiling):
    """clippedReluLayer: min(max(x, 0), Ceiling)."""
    return np.minimum(np.maximum(x, 0.0), ceiling)


def swish(x):
    """swishLayer: x · sigmoid(x)."""
    return x * sigmoid(x)


def gelu(x, approximation="none"):
    """geluLayer: x/2 · (1 + erf(x/√2)) ('none', MATLAB's default) or the tanh approximation
    x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))."""
    if approximation == "tanh":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def layernorm(x, scale, offset, eps):
    """layerNormalizationLayer: per observation, mean and (population) variance over all of
    H, W and C of an H×W×C×N image, or over C of a C×N feature batch; then a per-channel
    Scale and Offset (1×1×C for images, C×1 for features)."""
    axes = (0, 1, 2) if x.ndim == 4 else (0,)
    channel_axis = 2 if x.ndim == 4 else 0
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[channel_axis] = -1
    gamma = np.asarray(scale, dtype=np.float64).reshape(shape)
    beta = np.asarray(offset, dtype=np.float64).reshape(shape)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def global_pool(x, method):
    """globalAveragePooling2dLayer / globalMaxPooling2dLayer: H×W×C×N → 1×1×C×N."""
    return x.max(axis=(0, 1), keepdims=True) if method == "max" \
        else x.mean(axis=(0, 1), keepdims=True)


def input_normalization(x, mode, mean, std=None):
    """imageInputLayer / featureInputLayer Normalization: 'zerocenter' subtracts Mean,
    'zscore' subtracts Mean and divides by StandardDeviation. Image statistics are H×W×C
    (per pixel) or 1×1×C (per channel) and broadcast as stored; feature statistics hold one
    value per feature."""
    mean = np.asarray(mean, dtype=np.float64)
    if x.ndim == 2:  # C×N features: the statistics are per feature, any orientation
        mean = mean.reshape(-1, 1)
        std = None if std is None else np.asarray(std, dtype=np.float64).reshape(-1, 1)
    else:
        mean = mean.reshape(mean.shape + (1,) * (x.ndim - mean.ndim))
        std = None if std is None else np.asarray(std, dtype=np.float64).reshape(mean.shape)
    y = x - mean
    if mode == "zscore":
        y = y / std
    elif mode != "zerocenter":
        raise ValueError(f"no reference for Normalization {mode!r}")
    return y
