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
  LSTM/BiLSTM with initial states, and GRU in all three ResetGateModes.
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
