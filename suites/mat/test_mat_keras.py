"""The `.mat` importer against Keras, where Keras computes MATLAB's function.

Keras is an independent reference: its weights are moved from the MATLAB layouts written to
the file by this module's own index arithmetic (not by `harness.mat.layout`). Cases: 'same'
convolution (MATLAB and Keras both put the odd padding pixel bottom/right), ReLU, max
pooling, a fully connected layer after a column-major flatten (Keras flattens row-major
N×H×W×C: the kernel rows are permuted here), LSTM with initial states (gates [i f g o] in
both), and GRU with ResetGateMode 'recurrent-bias-after-multiplication' (Keras
`reset_after=True`; Keras orders gates [z r h], MATLAB [r z h]).
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision  # noqa: F401  (torch and torchvision before TensorFlow, or the process aborts)
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.mat as hm
from harness.mat.layout import image_to_torch, sequence_to_torch
from harness.sources.mat.writer import V7, V73, cell, save_mat
from suites.installed import require

# Asked without importing Keras (and TensorFlow): the tests import it when they run.
require("keras", reason="the reference networks are built in Keras")

RELAXED = settings(deadline=None)


def _row(values):
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def _layer(name, cls, **props):
    return {"Name": name, "Class": cls, **props}


def test_the_importer_matches_keras(subtests, tmp_path_factory, parity_cache):
    """Every check in one test, each a subtest: a pytest-xdist worker imports TensorFlow
    for whichever of them it runs, so that a run that computes any Keras output imports it in
    one worker, not in each (docs/benchmarks.md). Keras' outputs are kept in the stage cache
    (``parity_cache.computed``): a run whose Keras, TensorFlow and this file did not change
    reads them back and builds no Keras model; the importer runs in every run."""
    for version in (V7, V73):
        with subtests.test(msg="conv, pool, dense", version=version):
            conv_pool_dense_match_keras(version, tmp_path_factory, parity_cache)
    for kind in ("lstm", "gru"):
        with subtests.test(msg="recurrent layers", kind=kind):
            recurrent_layers_match_keras(kind, tmp_path_factory, parity_cache)


def keras_output(cache, what: str, document: dict, build):
    """The output of the Keras model ``build()`` makes on the feeds it returns with it
    (``(model, feeds)``), kept in the stage cache by the arrays and settings the model is
    built and fed from (``document``)."""
    def compute():
        model, feeds = build()
        return {"output": np.asarray(model(feeds))}

    return cache.computed(what, document, compute, packages=("keras", "tensorflow"),
                          code=[__file__])["output"]


def conv_pool_dense_match_keras(version, tmp_path_factory, cache):
    @RELAXED
    @given(height=st.integers(4, 8), width=st.integers(4, 8), channels=st.integers(1, 3),
           filters=st.integers(1, 3), kernel=st.integers(1, 3), stride=st.integers(1, 2),
           outputs=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
    def check(height, width, channels, filters, kernel, stride, outputs, seed):
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((kernel, kernel, channels, filters)).astype(np.float32)
        b = rng.standard_normal(filters).astype(np.float32)
        ph, pw = -(-height // stride) // 2, -(-width // stride) // 2  # after 'same' + pool 2
        fc_w = rng.standard_normal((outputs, ph * pw * filters)).astype(np.float32)
        fc_b = rng.standard_normal(outputs).astype(np.float32)
        layers = [
            _layer("in", "ImageInputLayer", InputSize=_row([height, width, channels]),
                   Normalization="none"),
            _layer("conv", "Convolution2DLayer", FilterSize=_row([kernel, kernel]),
                   NumChannels=_row([channels]), NumFilters=_row([filters]),
                   Stride=_row([stride, stride]), DilationFactor=_row([1, 1]),
                   PaddingMode="same", PaddingSize=_row([0, 0, 0, 0]), Weights=w,
                   Bias=b.reshape(1, 1, -1)),
            _layer("relu", "ReLULayer"),
            _layer("pool", "MaxPooling2DLayer", PoolSize=_row([2, 2]), Stride=_row([2, 2]),
                   PaddingMode="manual", PaddingSize=_row([0, 0, 0, 0])),
            _layer("fc", "FullyConnectedLayer", OutputSize=_row([outputs]), Weights=fc_w,
                   Bias=fc_b.reshape(-1, 1)),
            _layer("out", "RegressionOutputLayer"),
        ]
        path = tmp_path_factory.mktemp("keras") / "net.mat"
        save_mat(path, {"format": "parity.dlt/1", "layers": cell(layers)}, version)

        # Keras kernel row (h·W + w)·C + c reads MATLAB column h + H·w + H·W·c.
        h, w_, c = np.meshgrid(np.arange(ph), np.arange(pw), np.arange(filters), indexing="ij")
        matlab_column = (h + ph * w_ + ph * pw * c).reshape(-1)
        dense_kernel = fc_w[:, matlab_column].T
        x = rng.standard_normal((2, height, width, channels)).astype(np.float32)  # N×H×W×C

        def build():
            import keras

            model = keras.Sequential([
                keras.Input((height, width, channels)),
                keras.layers.Conv2D(filters, kernel, strides=stride, padding="same",
                                    activation="relu"),
                keras.layers.MaxPooling2D(2, 2),
                keras.layers.Flatten(),
                keras.layers.Dense(outputs),
            ])
            model.layers[0].set_weights([w, b])
            model.layers[3].set_weights([dense_kernel, fc_b])
            return model, x

        want = keras_output(cache, "keras: conv, pool, dense", {
            "conv": [w, b], "stride": stride, "dense": [dense_kernel, fc_b], "x": x}, build)
        x_matlab = x.transpose(1, 2, 3, 0)
        with torch.no_grad():
            got = hm.to_torch(path)(torch.from_numpy(image_to_torch(x_matlab))).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    check()


def recurrent_layers_match_keras(kind, tmp_path_factory, cache):
    @RELAXED
    @given(features=st.integers(1, 3), hidden=st.integers(1, 4), steps=st.integers(1, 5),
           last=st.booleans(), seed=st.integers(0, 2**31 - 1))
    def check(features, hidden, steps, last, seed):
        rng = np.random.default_rng(seed)
        gates = 4 if kind == "lstm" else 3
        wi = (0.5 * rng.standard_normal((gates * hidden, features))).astype(np.float32)
        wr = (0.5 * rng.standard_normal((gates * hidden, hidden))).astype(np.float32)
        bias = (0.5 * rng.standard_normal((gates * hidden * (1 if kind == "lstm" else 2), 1))
                ).astype(np.float32)
        h0 = (0.5 * rng.standard_normal((hidden, 1))).astype(np.float32)
        c0 = (0.5 * rng.standard_normal((hidden, 1))).astype(np.float32)
        props = dict(InputSize=_row([features]), NumHiddenUnits=_row([hidden]),
                     OutputMode="last" if last else "sequence", InputWeights=wi,
                     RecurrentWeights=wr, Bias=bias, HiddenState=h0)
        if kind == "lstm":
            props["CellState"] = c0
            rnn = _layer("rnn", "LSTMLayer", **props)
        else:
            rnn = _layer("rnn", "GRULayer", ResetGateMode="recurrent-bias-after-multiplication",
                         **props)
        layers = [_layer("seq", "SequenceInputLayer", InputSize=_row([features])), rnn]
        path = tmp_path_factory.mktemp("rnn") / "net.mat"
        save_mat(path, {"format": "parity.dlt/1", "layers": cell(layers)})

        x = rng.standard_normal((2, steps, features)).astype(np.float32)  # Keras N×T×C
        if kind == "lstm":
            weights = [wi.T, wr.T, bias.ravel()]  # same gate order [i f g o]
            feeds = [x, np.tile(h0.T, (2, 1)), np.tile(c0.T, (2, 1))]
        else:
            order = np.r_[hidden:2 * hidden, 0:hidden, 2 * hidden:3 * hidden]  # [r z h]→[z r h]
            b = bias.ravel()
            weights = [wi[order].T, wr[order].T,
                       np.stack([b[:3 * hidden][order], b[3 * hidden:][order]])]
            feeds = [x, np.tile(h0.T, (2, 1))]

        def build():
            import keras

            inputs = keras.Input((steps, features))
            states = [keras.Input((hidden,)) for _ in feeds[1:]]
            if kind == "lstm":
                layer = keras.layers.LSTM(hidden, return_sequences=not last)
            else:
                layer = keras.layers.GRU(hidden, return_sequences=not last, reset_after=True)
            model = keras.Model([inputs, *states], layer(inputs, initial_state=states))
            layer.set_weights(weights)
            return model, feeds

        want = keras_output(cache, f"keras: {kind}", {
            "weights": weights, "feeds": feeds, "sequences": not last}, build)
        x_matlab = x.transpose(2, 0, 1)  # C×N×T
        with torch.no_grad():
            got = hm.to_torch(path)(torch.from_numpy(sequence_to_torch(x_matlab))).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    check()
