"""The keras-torch leg: the case's model run by Keras on its PyTorch backend, in a persistent
worker process, compared with Keras on TensorFlow (the reference)."""

import os

import numpy as np
import pytest

from harness.converters import ConversionPath
from harness.core.strategies import sample
from harness.run.pipeline import Harness

pytest.importorskip("tensorflow")
pytest.importorskip("torch")


@pytest.fixture(scope="module")
def harness():
    return Harness("keras>keras-torch")


def test_the_path_parses():
    path = ConversionPath.parse("keras>keras-torch")
    assert path.legs() == ["keras>keras-torch"]


@pytest.mark.parametrize("kind", ["Dense", "Conv2D", "LSTM", "BatchNormalization"])
def test_keras_on_torch_matches_keras_on_tensorflow(kind, harness):
    for spec in sample(kind, 2):
        case = harness.run(spec)
        legs = [leg for leg in case.legs if leg.leg == "keras>keras-torch"]
        assert [leg.runner for leg in legs] == ["keras-torch"]
        assert all(leg.verdict in ("pass", "xfail") for leg in legs), case.failure_message()


def test_one_worker_serves_every_case(harness):
    from harness.converters.keras_torch_backend import worker

    for spec in sample("Dense", 2):
        harness.run(spec)
    client = worker("cpu")
    pid = client.process.pid
    for spec in sample("Dense", 3)[2:]:
        assert harness.run(spec).legs[0].verdict == "pass"
    assert client.process.pid == pid
    assert client.info["backend"] == "torch"
    assert client.info["pid"] == pid and pid != os.getpid()


def test_a_difference_on_the_torch_backend_fails_the_leg(harness, tmp_path):
    """A worker that runs another model than the reference gives a failing leg with metrics:
    the comparison really reads the worker's outputs."""
    import keras

    from harness.converters import Artifact
    from harness.converters.keras_torch_backend import worker
    from harness.converters.saved_formats import SavedFiles

    inputs = keras.Input((3,))
    other = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="ones")(inputs))
    other.save(tmp_path / "other.keras")
    x = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
    (y,) = worker("cpu").run(SavedFiles(tmp_path / "other.keras"), [x])
    np.testing.assert_allclose(y, np.repeat(x.sum(axis=1, keepdims=True), 2, axis=1),
                               rtol=1e-6, atol=1e-6)
    runner = harness.runner("keras-torch")
    (z,) = runner.run(Artifact("keras-torch", SavedFiles(tmp_path / "other.keras")), [x])
    np.testing.assert_array_equal(y, z)


def test_an_error_in_the_worker_is_reported_and_the_worker_lives_on(tmp_path):
    from harness.converters.keras_torch_backend import KerasTorchError, worker

    client = worker("cpu")
    client.request("ping", "pinging")
    pid = client.process.pid
    with pytest.raises(KerasTorchError, match="Keras \\(torch backend\\) raised"):
        client.load(tmp_path / "missing.keras")
    assert client.alive() and client.process.pid == pid


def test_a_timeout_kills_the_worker_and_the_next_request_restarts_it(tmp_path):
    import keras

    from harness.converters.keras_torch_backend import KerasTorchTimeout, KerasTorchWorker

    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "m.keras")
    client = KerasTorchWorker("cpu", threads=1)
    try:
        client.request("ping", "pinging")
        first = client.process
        client.timeout = 1e-4  # no load of a .keras file answers in 0.1 ms
        with pytest.raises(KerasTorchTimeout, match=r"did not answer within 0.0001 s while "
                                                    r"loading .*m.keras; killed it"):
            client.load(tmp_path / "m.keras")
        assert first.poll() is not None  # killed
        client.timeout = None
        client.load(tmp_path / "m.keras")  # restarts
        assert client.alive() and client.process.pid != first.pid
        assert client.starts == 2
    finally:
        client.close()
    assert not client.alive()
