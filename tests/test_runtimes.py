"""The runtimes layer (harness/runtimes): the one torch run, the runner registry's lazy
built-ins, and the custom Keras objects a stored ``.keras`` file names."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness import runtimes

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cases"


def test_run_module_normalises_a_tensor_a_tuple_and_a_dict_of_outputs():
    torch = pytest.importorskip("torch")
    from harness.runtimes.torch import run_module

    class Outputs(torch.nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape = shape

        def forward(self, x, scale):
            doubled, shifted = x * 2, x + scale
            if self.shape == "tensor":
                return doubled
            if self.shape == "tuple":
                return doubled, shifted
            return {"doubled": doubled, "shifted": shifted}

    x = np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2]  # not contiguous
    scale = np.array(0.5, dtype=np.float32)  # 0-d: keeps its rank
    for shape, count in (("tensor", 1), ("tuple", 2), ("dict", 2)):
        outputs = run_module(Outputs(shape).eval(), [x, scale])
        assert len(outputs) == count and all(isinstance(y, np.ndarray) for y in outputs)
        np.testing.assert_array_equal(outputs[0], x * 2)
        if count == 2:
            np.testing.assert_array_equal(outputs[1], x + 0.5)


def test_run_module_runs_a_module_left_in_training_mode_as_it_is():
    """Batch norm in training mode normalises with the batch's statistics and moves its
    running ones (check/pitfalls runs a converter's module as returned this way)."""
    torch = pytest.importorskip("torch")
    from harness.runtimes.torch import run_module

    torch.manual_seed(0)
    norm = torch.nn.BatchNorm1d(3).train()
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 3)).astype(np.float32)
    (y,) = run_module(norm, [x])
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    assert float(norm.running_mean.abs().min()) > 0.1  # moved from 0 towards the batch's


def test_the_builtin_runners_resolve_lazily_by_format():
    assert {"keras", "onnx", "torch", "savedmodel", "keras-torch"} <= set(runtimes.formats())
    assert all(isinstance(v, str) for v in runtimes.registry.BUILTIN.values())
    assert runtimes.runner_for("torch", "cpu").name == "torch"
    assert runtimes.runner_for("onnx", "cpu", 2).threads == 2
    with pytest.raises(runtimes.RunError, match="no runner for artifacts of format 'nope'"):
        runtimes.runner_for("nope")


def _golden_case_naming(registered: str) -> Path:
    """The first golden case whose ``model.keras`` names ``registered`` (``parity>...``)."""
    for folder in sorted(GOLDEN.iterdir()):
        path = folder / "model.keras"
        if path.is_file() and f'"{registered}"' in zipfile.ZipFile(path).read("config.json").decode():
            return folder
    pytest.fail(f"no golden model.keras names {registered}")


@pytest.mark.parametrize("registered", ["parity>CustomOps", "parity>CallWith", "parity>gelu_tanh"])
def test_a_stored_keras_file_naming_parity_objects_loads_and_computes_its_reference(registered):
    """The golden store's files say the objects came from ``harness.layers.custom`` (their
    home when the files were written); they load by their registered names wherever the
    classes live now, and compute the stored reference."""
    pytest.importorskip("tensorflow")
    from harness.converters.saved_formats import load_keras_file
    from harness.runtimes.keras import run_keras

    folder = _golden_case_naming(registered)
    model = load_keras_file(folder / "model.keras")
    inputs, expected = np.load(folder / "inputs.npz"), np.load(folder / "expected.npz")
    spec = json.loads((folder / "spec.json").read_text())
    outputs = run_keras(model, [inputs[f"input_{i}"] for i in range(len(spec["input_shapes"]))])
    assert len(outputs) == len(expected.files)
    for i, y in enumerate(outputs):
        # The same computation as the stored reading (exact on the machine that checked all 70
        # such files); the tolerance leaves room for another CPU's kernels only.
        np.testing.assert_allclose(np.asarray(y, np.float64), expected[f"output_{i}"],
                                   rtol=1e-5, atol=1e-6)
