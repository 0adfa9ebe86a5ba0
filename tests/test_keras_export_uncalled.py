"""Keras' own ONNX export refuses a model that was never called, and a Keras source model
rebuilt from the stage cache (its reading a hit) never was: the second gate of a repository
(`parity gate --converter h5`, then `--converter keras-onnx`, one `.parity-cache/`) failed
every keras-onnx leg with "The model provided has never called" (#45)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.converters import Artifact, ConvertOptions
from harness.converters.keras_export import KerasOnnxExportConverter

keras = pytest.importorskip("keras")
pytest.importorskip("tf2onnx")


def _never_called():
    inputs = keras.Input((3,), batch_size=1)
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_keras_refuses_to_export_a_model_never_called(tmp_path):
    with pytest.raises(ValueError, match="never called"):
        _never_called().export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)


def test_the_keras_onnx_stage_exports_a_model_never_called(tmp_path):
    model = _never_called()
    proto = KerasOnnxExportConverter().convert(
        Artifact("keras", model, ["x"]), ConvertOptions(workdir=tmp_path)).model
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.arange(3, dtype=np.float32).reshape(1, 3)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-6)
