"""Focused checks of Deep Learning Toolbox (`parity.dlt/1`) layers whose MATLAB semantics a
converter easily gets subtly wrong: layer normalisation on images (GroupNorm(1, C), not a
per-pixel or per-element LayerNorm), GELU's default (erf, not the tanh approximation) and the
image input layer's statistics in every stored shape. Each expected value is computed here in
NumPy, in MATLAB layout, from MATLAB's documented formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import harness.mat as hm
from harness.mat.layout import image_to_matlab, image_to_torch
from harness.sources.mat.writer import V7, V73, cell, save_mat


def _row(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def _image_net(tmp_path, size, layers, version) -> torch.nn.Module:
    items = [{"Name": "input", "Class": "ImageInputLayer", "InputSize": _row(size),
              "Normalization": "none"}, *layers,
             {"Name": "out", "Class": "RegressionOutputLayer"}]
    path = tmp_path / f"net_v{version}.mat"
    save_mat(path, {"format": "parity.dlt/1", "layers": cell(items)}, version)
    return hm.to_torch(path)


def _run_image(module, x_matlab: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        y = module(torch.from_numpy(image_to_torch(x_matlab)))
    return image_to_matlab(y.numpy().astype(np.float64))


# --- layer normalisation on images = GroupNorm(1, C) ----------------------------------------

H, W, C, N = 4, 3, 3, 2  # W == C on purpose: a Scale broadcast over W instead of C still runs
SCALE = np.array([0.5, 2.0, -1.5], dtype=np.float32)
OFFSET = np.array([0.1, -0.3, 0.7], dtype=np.float32)
EPS = 1e-5


def _layer_norm_input() -> np.ndarray:
    rng = np.random.default_rng(20240611)
    # Channel means and spreads that differ, so per-pixel and per-sample statistics differ.
    x = rng.standard_normal((H, W, C, N)) * np.array([1.0, 3.0, 0.5]).reshape(1, 1, C, 1)
    return (x + np.array([2.0, -1.0, 0.0]).reshape(1, 1, C, 1)).astype(np.float32)


def _matlab_layer_norm(x: np.ndarray) -> np.ndarray:
    """MATLAB's layerNormalizationLayer on an H×W×C×N image batch: for each observation n,
    μ and σ² (population) over all H·W·C elements, then Scale(c)·x̂ + Offset(c)."""
    x = x.astype(np.float64)
    y = np.empty_like(x)
    for n in range(x.shape[3]):
        sample = x[:, :, :, n]
        mu = sample.sum() / sample.size
        var = ((sample - mu) ** 2).sum() / sample.size
        for c in range(x.shape[2]):
            y[:, :, c, n] = SCALE[c] * (sample[:, :, c] - mu) / math.sqrt(var + EPS) + OFFSET[c]
    return y


@pytest.mark.parametrize("version", [V7, V73])
def test_dlt_layer_norm_on_images_is_group_norm_1_c(tmp_path, version):
    layer = {"Name": "ln", "Class": "LayerNormalizationLayer", "NumChannels": _row([C]),
             "Scale": SCALE.reshape(1, 1, C), "Offset": OFFSET.reshape(1, 1, C),
             "Epsilon": _row([EPS])}
    module = _image_net(tmp_path, [H, W, C], [layer], version)
    x = _layer_norm_input()
    want = _matlab_layer_norm(x)
    got = _run_image(module, x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    xt = torch.from_numpy(image_to_torch(x)).double()
    scale, offset = torch.from_numpy(SCALE).double(), torch.from_numpy(OFFSET).double()
    # The same function in PyTorch's vocabulary: GroupNorm(1, C), or LayerNorm([C, H, W])
    # whose per-element affine ties every element of channel c to Scale(c)/Offset(c).
    group = image_to_matlab(F.group_norm(xt, 1, scale, offset, EPS).numpy())
    np.testing.assert_allclose(group, want, rtol=1e-10, atol=1e-10)
    tied = F.layer_norm(xt, [C, H, W], scale[:, None, None].expand(C, H, W),
                        offset[:, None, None].expand(C, H, W), EPS)
    np.testing.assert_allclose(image_to_matlab(tied.numpy()), want, rtol=1e-10, atol=1e-10)

    # Sanity: the data tells the likely wrong mappings apart. (a) LayerNorm([C, H, W]) with
    # the per-element affine filled by broadcasting the C-vector (it lands on W, not C);
    # (b) a channels-only LayerNorm per pixel (LayerNorm([C]) on channels-last).
    wrong_affine = F.layer_norm(xt, [C, H, W], scale.expand(C, H, W), offset.expand(C, H, W),
                                EPS)
    per_pixel = F.layer_norm(xt.permute(0, 2, 3, 1), [C], scale, offset,
                             EPS).permute(0, 3, 1, 2)
    for wrong in (wrong_affine, per_pixel):
        assert np.abs(image_to_matlab(wrong.numpy()) - want).max() > 0.1


def test_dlt_layer_norm_of_a_single_value_is_its_offset(tmp_path):
    """A 1x1 image of one channel (a global pooling's output) is one value per observation:
    its variance is 0, so MATLAB's layer normalisation gives the offset. torch's group_norm
    refuses such a group ("Expected more than 1 value per channel when training"); dev seed
    9016 met it in the MATLAB conformance suite (a gpool then a layernorm)."""
    layer = {"Name": "ln", "Class": "LayerNormalizationLayer", "NumChannels": _row([1]),
             "Scale": np.float32([[[1.5]]]), "Offset": np.float32([[[-0.25]]]),
             "Epsilon": _row([EPS])}
    module = _image_net(tmp_path, [1, 1, 1], [layer], V7)
    x = np.float32([3.0, -7.0]).reshape(1, 1, 1, 2)
    np.testing.assert_allclose(_run_image(module, x), np.full((1, 1, 1, 2), -0.25), atol=1e-6)


# --- GELU: erf by default, tanh only when asked --------------------------------------------


def _gelu_erf(x: np.ndarray) -> np.ndarray:
    return np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.ravel()]
                    ).reshape(x.shape)


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


@pytest.mark.parametrize("version", [V7, V73])
@pytest.mark.parametrize("approximation", [None, "none", "tanh"])
def test_dlt_gelu_default_is_erf_and_tanh_only_when_asked(tmp_path, version, approximation):
    layer = {"Name": "gelu", "Class": "GELULayer"}
    if approximation is not None:
        layer["Approximation"] = approximation
    module = _image_net(tmp_path, [5, 8, 1], [layer], version)
    x = np.linspace(-4.0, 4.0, 80, dtype=np.float32).reshape(5, 8, 1, 2, order="F")
    x64 = x.astype(np.float64)
    right, other = (_gelu_tanh(x64), _gelu_erf(x64)) if approximation == "tanh" \
        else (_gelu_erf(x64), _gelu_tanh(x64))
    got = _run_image(module, x)
    np.testing.assert_allclose(got, right, rtol=0, atol=2e-6)
    assert np.abs(got - other).max() > 1e-4  # the two approximations are told apart


# --- image input normalisation: statistics in every shape MATLAB allows ----------------------


@pytest.mark.parametrize("version", [V7, V73])
@pytest.mark.parametrize("shape", ["scalar", "channel", "pixel"])
@pytest.mark.parametrize("mode", ["zerocenter", "zscore"])
def test_dlt_image_input_normalization(tmp_path, version, shape, mode):
    h, w, c = 3, 4, 2
    rng = np.random.default_rng(7)
    stat_shape = {"scalar": (1, 1), "channel": (1, 1, c), "pixel": (h, w, c)}[shape]
    mean = rng.standard_normal(stat_shape).astype(np.float32)
    std = (0.5 + rng.random(stat_shape)).astype(np.float32)
    layer = {"Name": "input", "Class": "ImageInputLayer", "InputSize": _row([h, w, c]),
             "Normalization": mode, "Mean": mean}
    if mode == "zscore":
        layer["StandardDeviation"] = std
    path = tmp_path / f"norm_v{version}.mat"
    save_mat(path, {"format": "parity.dlt/1",
                    "layers": cell([layer, {"Name": "out", "Class": "RegressionOutputLayer"}])},
             version)
    module = hm.to_torch(path)
    x = rng.standard_normal((h, w, c, 2)).astype(np.float32)
    want = np.empty((h, w, c, 2))
    for n in range(2):  # MATLAB: X − Mean (then ./ StandardDeviation), Mean broadcast as stored
        for i in range(h):
            for j in range(w):
                for k in range(c):
                    index = {"scalar": (0, 0), "channel": (0, 0, k), "pixel": (i, j, k)}[shape]
                    value = float(x[i, j, k, n]) - float(mean[index])
                    want[i, j, k, n] = value / float(std[index]) if mode == "zscore" else value
    np.testing.assert_allclose(_run_image(module, x), want, rtol=1e-5, atol=1e-5)
