"""Conformance of the `.mat → PyTorch` importer against MATLAB's semantics.

Hypothesis draws small MATLAB networks (layer kinds and attributes, including MATLAB-only
semantics), `harness.mat.cases` writes each as a `.mat` file in every format (MatConvNet
SimpleNN, MatConvNet DagNN, parity.dlt/1) and file version (`-v7` through scipy.io,
`-v7.3` through h5py in MATLAB's HDF5 layout), the importer builds a PyTorch module from the
file, and its output is compared with an independent reference:

- `harness.mat.reference` (NumPy, written from MATLAB's and MatConvNet's documentation, in
  MATLAB layouts) checks every case here: asymmetric padding, dilation, groups, transposed
  convolution with cropping, max pooling over −Inf padding, average pooling with padding
  excluded (MatConvNet, DLT 'mean') or counted (DLT PaddingValue 0), LRN (MatConvNet's alpha
  and window, also even sizes; DLT's alpha/N), batch norm (MatConvNet [mean, sigma], DLT
  variance + epsilon), column-major flatten before a fully connected layer, sum/concat merges,
  LSTM/BiLSTM with initial states, and GRU in all three ResetGateModes; for DLT also image
  input Normalization ('zerocenter'/'zscore', per-pixel or per-channel statistics), ELU,
  clipped ReLU, swish, GELU (default erf and 'tanh'), tanh, layer normalisation (over H, W
  and C with a per-channel Scale: GroupNorm(1, C)), global average/max pooling and flatten
  (drawn, and in the fixed `DLT_IMAGE_CASES`), and feature networks (FeatureInputLayer with
  Normalization, activations, layer normalisation over C).
- Keras (`test_mat_keras.py`) checks the cases where Keras computes the same function with the
  weights moved into its layouts by an independent path: 'same'/'valid' convolution, max
  pooling, ReLU, dense after flatten, LSTM, and GRU in 'recurrent-bias-after-multiplication'
  mode (Keras `reset_after=True`).

Example counts come from the active Hypothesis profile.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import harness.mat as hm
from harness.mat import cases
from harness.mat.layout import image_to_matlab, image_to_torch, sequence_to_torch
from harness.mat.writer import V7, V73, save_mat

VERSIONS = (V7, V73)
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                         HealthCheck.too_slow])


def _run(path, x_matlab: np.ndarray) -> np.ndarray:
    module = hm.to_torch(path)
    with torch.no_grad():
        y = module(torch.from_numpy(image_to_torch(x_matlab))).numpy().astype(np.float64)
    return image_to_matlab(y) if y.ndim == 4 else y.T


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("fmt", cases.FORMATS)
def test_image_network_matches_matlab_semantics(fmt, version, tmp_path_factory):
    @RELAXED
    @given(spec=cases.image_specs(fmt))
    def check(spec):
        path = tmp_path_factory.mktemp("case") / f"net_{fmt}_v{version}.mat"
        save_mat(path, cases.to_format(spec, fmt), version)
        x = cases.input_batch(spec)
        want = cases.expected(spec, x)
        got = _run(path, x)
        assert got.shape == want.shape, (spec, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=str(spec))

    check()


def _conv(filters: int) -> dict:
    return {"kind": "conv", "k": [3, 3], "filters": filters, "stride": [1, 1],
            "dilation": [1, 1], "pad": [1, 1, 1, 1], "groups": 1, "bias": True}


# Fixed DLT image networks that put every DLT-only layer kind through the same pipeline as
# the drawn ones, so that each is checked under every Hypothesis profile (twelve draws may
# miss some).
DLT_IMAGE_CASES = {
    "zscore-pixel_elu_layernorm_gap_fc_softmax": {
        "input": [6, 5, 3], "batch": 2, "seed": 11, "merge": None,
        "normalization": {"mode": "zscore", "per": "pixel"},
        "layers": [_conv(4), {"kind": "act", "fn": "elu", "alpha": 0.3},
                   {"kind": "layernorm", "eps": 1e-5}, {"kind": "gpool", "method": "avg"},
                   {"kind": "fc", "outputs": 3}, {"kind": "softmax"}]},
    "zerocenter-channel_tanh_gelu-tanh_gmp": {
        "input": [5, 7, 2], "batch": 2, "seed": 12, "merge": None,
        "normalization": {"mode": "zerocenter", "per": "channel"},
        "layers": [_conv(3), {"kind": "act", "fn": "tanh"},
                   {"kind": "act", "fn": "gelu", "approximation": "tanh"},
                   {"kind": "gpool", "method": "max"}]},
    "clippedrelu_swish_gelu-default_flatten_fc": {
        "input": [5, 6, 3], "batch": 2, "seed": 13, "merge": None, "normalization": None,
        "layers": [_conv(2), {"kind": "act", "fn": "clippedrelu", "ceiling": 0.5},
                   {"kind": "act", "fn": "swish"},
                   {"kind": "act", "fn": "gelu", "approximation": None},
                   {"kind": "flatten"}, {"kind": "fc", "outputs": 4}]},
    "zscore-channel-1_layernorm_flatten": {
        "input": [4, 3, 1], "batch": 2, "seed": 14, "merge": None,
        "normalization": {"mode": "zscore", "per": "channel"},
        "layers": [{"kind": "layernorm", "eps": 1e-3},
                   {"kind": "act", "fn": "elu", "alpha": 2.0}, {"kind": "flatten"}]},
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(DLT_IMAGE_CASES))
def test_dlt_image_layers_match_matlab_semantics(name, version, tmp_path):
    spec = DLT_IMAGE_CASES[name]
    path = tmp_path / f"{name}_v{version}.mat"
    save_mat(path, cases.to_format(spec, cases.DLT), version)
    x = cases.input_batch(spec)
    want = cases.expected(spec, x)
    got = _run(path, x)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("version", VERSIONS)
def test_feature_network_matches_matlab_semantics(version, tmp_path_factory):
    @RELAXED
    @given(spec=cases.feature_specs())
    def check(spec):
        path = tmp_path_factory.mktemp("feat") / f"feat_v{version}.mat"
        variables, x, want = cases.feature_case(spec)
        save_mat(path, variables, version)
        module = hm.to_torch(path)
        with torch.no_grad():
            got = module(torch.from_numpy(np.ascontiguousarray(x.T))).numpy().T  # N×C ↔ C×N
        assert got.shape == want.shape, (spec, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=str(spec))

    check()


@pytest.mark.parametrize("version", VERSIONS)
def test_sequence_network_matches_matlab_semantics(version, tmp_path_factory):
    @RELAXED
    @given(spec=cases.sequence_specs())
    def check(spec):
        path = tmp_path_factory.mktemp("seq") / f"seq_v{version}.mat"
        variables, x, want = cases.sequence_case(spec)
        save_mat(path, variables, version)
        module = hm.to_torch(path)
        with torch.no_grad():
            got = module(torch.from_numpy(sequence_to_torch(x))).numpy()
        # MATLAB: O×N×T ('sequence') or O×N ('last'); PyTorch: N×T×O or N×O.
        got = got.transpose(2, 0, 1) if got.ndim == 3 else got.T
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=str(spec))

    check()
