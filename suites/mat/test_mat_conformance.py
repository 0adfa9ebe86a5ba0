"""Conformance of the `.mat → PyTorch` importer against MATLAB's semantics, case by case
through the pipeline, as the Keras layers go: every result lands in `reports/results.jsonl`,
the report (families by MATLAB layer group and file format), JUnit, and a failure reads
like a Keras one (leg, stage, metrics, the shrunk spec, the first diverging layer,
`parity repro ID`).

For every MATLAB layer kind (`harness.sources.mat.kinds`, one record each) and every file
format that can hold it (MatConvNet SimpleNN, MatConvNet DagNN, parity.dlt/1), Hypothesis
draws a small network exercising the kind, in a drawn MATLAB file version (`-v7` through
scipy.io, `-v7.3` through h5py in MATLAB's HDF5 layout). The `mat` source writes it as a
`.mat` file and computes the reference with `harness.sources.mat.reference` (NumPy, written from
MATLAB's and MatConvNet's documentation, in MATLAB layouts): asymmetric padding, dilation,
groups, transposed convolution with cropping, max pooling over −Inf padding, average pooling
with padding excluded or counted, LRN (MatConvNet's alpha and window, also even sizes; DLT's
alpha/N), batch norm (MatConvNet [mean, sigma], DLT variance + epsilon), column-major flatten
before a fully connected layer, sum/concat merges, LSTM/BiLSTM with initial states, GRU in
all three ResetGateModes, input Normalization, ELU, clipped ReLU, swish, GELU, tanh, layer
normalisation, global pooling. The stage `mat2torch` imports the file.

Keras (`test_mat_keras.py`) checks the cases where Keras computes the same function.
Example counts come from the active Hypothesis profile.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.core import registry
from harness.sources.mat import kinds
from harness.sources.mat.case import network_spec
from harness.sources.mat.draw import mat_specs
from harness.sources.mat.layer import DLT, VERSIONS

KIND_FORMATS = [(kind.name, fmt) for kind in registry.kinds("mat")
                for fmt in kinds.get(kind.name).formats]


@pytest.mark.parametrize(("kind", "fmt"), KIND_FORMATS,
                         ids=[f"{kind}-{fmt}" for kind, fmt in KIND_FORMATS])
@given(data=st.data())
def test_matlab_layer(kind, fmt, data, parity):
    spec = data.draw(mat_specs(kind, fmt), label="spec")
    parity.check(spec)


def _conv(filters: int) -> tuple:
    return ("conv", {"k": [3, 3], "filters": filters, "stride": [1, 1], "dilation": [1, 1],
                     "pad": [1, 1, 1, 1], "groups": 1, "bias": True})


# Whole DLT networks that chain the DLT-only layer kinds the way exported networks do (image,
# feature and sequence inputs), checked under every Hypothesis profile.
PINNED = {
    "zscore-pixel_elu_layernorm_gap_fc_softmax": dict(
        layers=[_conv(4), ("elu", {"alpha": 0.3}), ("layernorm", {"eps": 1e-5}),
                ("gpool", {"method": "avg"}), ("fc", {"outputs": 3}), ("softmax", {})],
        input_shape=(2, 3, 6, 5), seed=11,
        input_attrs={"normalization": "zscore", "per": "pixel"}),
    "zerocenter-channel_tanh_gelu-tanh_gmp": dict(
        layers=[_conv(3), ("tanh", {}), ("gelu", {"approximation": "tanh"}),
                ("gpool", {"method": "max"})],
        input_shape=(2, 2, 5, 7), seed=12,
        input_attrs={"normalization": "zerocenter", "per": "channel"}),
    "clippedrelu_swish_gelu-default_flatten_fc": dict(
        layers=[_conv(2), ("clippedrelu", {"ceiling": 0.5}), ("swish", {}),
                ("gelu", {"approximation": None}), ("flatten", {}), ("fc", {"outputs": 4})],
        input_shape=(2, 3, 5, 6), seed=13),
    "zscore-channel-1_layernorm_flatten": dict(
        layers=[("layernorm", {"eps": 1e-3}), ("elu", {"alpha": 2.0}), ("flatten", {})],
        input_shape=(2, 1, 4, 3), seed=14,
        input_attrs={"normalization": "zscore", "per": "channel"}),
    "features-zscore-row_fc_elu_layernorm_fc_softmax": dict(
        layers=[("fc", {"outputs": 4}), ("elu", {"alpha": 1.0}),
                ("layernorm", {"eps": 1e-5}), ("fc", {"outputs": 3}), ("softmax", {})],
        input_shape=(3, 5), seed=15,
        input_attrs={"normalization": "zscore", "stats_row": True}),
    "sequence_bilstm-state_fc": dict(
        layers=[("bilstm", {"hidden": 3, "output_mode": "sequence", "initial_state": True}),
                ("fc", {"outputs": 2})],
        input_shape=(2, 4, 3), seed=16),
    "sequence_gru-recurrent-bias_last_fc": dict(
        layers=[("gru", {"hidden": 2, "output_mode": "last", "initial_state": True,
                         "reset_gate_mode": "recurrent-bias-after-multiplication"}),
                ("fc", {"outputs": 3})],
        input_shape=(2, 5, 2), seed=17),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(PINNED))
def test_dlt_network(name, version, parity):
    parity.check(network_spec(**PINNED[name], fmt=DLT, version=version))
