"""The onnx source's neural-network and tensor-manipulation kinds (convolution, pooling,
normalisation, reshaping, shape, indexing, resize, recurrent): every kind's drawn specs
read, a few hand-written specs give what NumPy computes independently on onnxruntime and on
onnx's reference evaluator (and a wrong expectation is caught), and the known issues of
these kinds load."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from harness.core import known_issues, registry  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.strategies import sample  # noqa: E402
from harness.core.tolerance import TolerancePolicy  # noqa: E402
from harness.sources.onnx import OnnxSource, read_evaluator, read_onnxruntime  # noqa: E402

FAMILY_MODULES = ("conv", "pool", "normalization", "shape", "indexing", "resize", "recurrent")
KNOWN_ISSUES = known_issues.MORE_FILES / "onnx-nn.toml"


def _nn_kinds() -> list[str]:
    return sorted(k.name for k in registry.kinds("onnx")
                  if k.draw.__module__.rsplit(".", 1)[-1] in FAMILY_MODULES
                  and k.draw.__module__.startswith("harness.sources.onnx.ops."))


NN_KINDS = _nn_kinds()


def test_the_families_register_the_ops_the_converters_claim():
    for op in ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "BatchNormalization",
               "LayerNormalization", "GroupNormalization", "Resize", "Pad", "Slice", "Gather",
               "ScatterND", "LSTM", "GRU", "RNN", "DepthToSpace", "Split", "Range"):
        assert op in NN_KINDS
    assert len(NN_KINDS) >= 55


@pytest.mark.parametrize("kind", NN_KINDS)
def test_every_drawn_spec_reads(kind):
    """Four derandomised specs build, pass onnx's full check and run on onnxruntime (a
    SourceError here is a bug of the kind's draw)."""
    source, policy = OnnxSource(), TolerancePolicy()
    for spec in sample(kind, 4, source="onnx"):
        reading = source.read(spec, policy=policy)
        assert len(reading.reference) == len(reading.artifact.model.graph.output)


# -- hand-written specs against NumPy ---------------------------------------------------------

def _read(spec: LayerSpec):
    """The model with its seeded weights, the inputs, onnxruntime's and the evaluator's
    outputs."""
    reading = OnnxSource().read(spec, policy=TolerancePolicy())
    model = reading.artifact.model
    runtime = read_onnxruntime(model, reading.inputs, spec)
    evaluator = read_evaluator(model, reading.inputs)
    assert evaluator is not None
    return model, reading.inputs, runtime[0], evaluator[0]


def _weights(model) -> list[np.ndarray]:
    from onnx import numpy_helper

    return [numpy_helper.to_array(t) for t in model.graph.initializer]


def _check(spec: LayerSpec, expected, wrong) -> None:
    """Both readings give ``expected(inputs, weights)``; ``wrong`` (the same op with one
    attribute misread) does not, so the check can fail."""
    model, inputs, runtime, evaluator = _read(spec)
    weights = _weights(model)
    want = expected(inputs, weights)
    np.testing.assert_allclose(runtime, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(evaluator, want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(runtime, wrong(inputs, weights), rtol=1e-5, atol=1e-5)


def _onnx(kind: str, attrs: dict, shapes, seed: int = 3) -> LayerSpec:
    return LayerSpec(kind=kind, attrs=attrs, input_shapes=tuple(tuple(s) for s in shapes),
                     dtype="float32", seed=seed, source="onnx")


def _correlate_1d(x: np.ndarray, w: np.ndarray, begin: int, end: int) -> np.ndarray:
    padded = np.pad(x[0, 0].astype(np.float64), (begin, end))
    k = w.shape[-1]
    return np.array([[[padded[i:i + k] @ w[0, 0] for i in range(len(padded) - k + 1)]]])


def test_conv_asymmetric_pads():
    spec = _onnx("Conv", {"opset": 17, "kernel_shape": [3], "pads": [0, 2],
                          "operands": ["in", {"weight": [1, 1, 3], "role": "kernel"}]}, [(1, 1, 4)])
    _check(spec, lambda x, w: _correlate_1d(x[0], w[0], 0, 2),
           lambda x, w: _correlate_1d(x[0], w[0], 1, 1))


def test_conv_same_lower_pads_the_beginning():
    spec = _onnx("Conv", {"opset": 17, "kernel_shape": [2], "auto_pad": "SAME_LOWER",
                          "operands": ["in", {"weight": [1, 1, 2], "role": "kernel"}]}, [(1, 1, 4)])
    _check(spec, lambda x, w: _correlate_1d(x[0], w[0], 1, 0),
           lambda x, w: _correlate_1d(x[0], w[0], 0, 1))


def _average_pool(x: np.ndarray, kernel: int, pad: int, include_pad: bool) -> np.ndarray:
    row = x[0, 0].astype(np.float64)
    padded, inside = np.pad(row, pad), np.pad(np.ones_like(row), pad)
    out = [padded[i:i + kernel].sum() / (kernel if include_pad else inside[i:i + kernel].sum())
           for i in range(len(padded) - kernel + 1)]
    return np.array([[out]])


def test_average_pool_count_include_pad_0():
    spec = _onnx("AveragePool", {"opset": 17, "kernel_shape": [3], "pads": [1, 1],
                                 "count_include_pad": 0}, [(1, 1, 4)])
    _check(spec, lambda x, w: _average_pool(x[0], 3, 1, include_pad=False),
           lambda x, w: _average_pool(x[0], 3, 1, include_pad=True))


def _linear_resize(x: np.ndarray, scale: float, mode: str) -> np.ndarray:
    row = x[0, 0, 0].astype(np.float64)
    size = len(row)
    out = []
    for i in range(int(size * scale)):
        source = (i + 0.5) / scale - 0.5 if mode == "half_pixel" else i / scale
        source = min(max(source, 0.0), size - 1.0)
        low = int(np.floor(source))
        high = min(low + 1, size - 1)
        out.append(row[low] + (source - low) * (row[high] - row[low]))
    return np.array([[[out]]])


@pytest.mark.parametrize("mode,other", [("half_pixel", "asymmetric"), ("asymmetric", "half_pixel")])
def test_resize_linear_coordinate_modes(mode, other):
    spec = _onnx("Resize", {"opset": 17, "mode": "linear", "coordinate_transformation_mode": mode,
                            "operands": ["in", None, {"const": [1.0, 1.0, 1.0, 2.0],
                                                      "dtype": "float32"}]}, [(1, 1, 1, 3)])
    _check(spec, lambda x, w: _linear_resize(x[0], 2.0, mode),
           lambda x, w: _linear_resize(x[0], 2.0, other))


def _depth_to_space(x: np.ndarray, block: int, mode: str) -> np.ndarray:
    n, c, h, w = x.shape
    if mode == "CRD":
        y = x.reshape(n, c // block**2, block, block, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        y = x.reshape(n, block, block, c // block**2, h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // block**2, h * block, w * block)


def test_depth_to_space_crd():
    spec = _onnx("DepthToSpace", {"opset": 17, "blocksize": 2, "mode": "CRD"}, [(1, 8, 1, 2)])
    _check(spec, lambda x, w: _depth_to_space(x[0], 2, "CRD"),
           lambda x, w: _depth_to_space(x[0], 2, "DCR"))


def _batch_norm(x: np.ndarray, weights, epsilon: float) -> np.ndarray:
    scale, bias, mean, var = (w.astype(np.float64).reshape(1, -1) for w in weights)
    return scale * (x - mean) / np.sqrt(var + epsilon) + bias


def test_batch_normalization_epsilon():
    """Opset 15 (BatchNormalization-15): the reference evaluator misreads opsets 9-13."""
    roles = ("scale", "beta", "mean", "variance")
    spec = _onnx("BatchNormalization",
                 {"opset": 15, "epsilon": 0.5, "training_mode": 0,
                  "operands": ["in", *({"weight": [3], "role": r} for r in roles)]}, [(2, 3)])
    _check(spec, lambda x, w: _batch_norm(x[0], w, 0.5), lambda x, w: _batch_norm(x[0], w, 1e-5))


# -- ScatterND's indices of every rank ------------------------------------------------------

# Rows 3, 0, 1, 2 of a (4, 3) data, laid out as a 2 x 2 grid of depth-1 index tuples.
GRID_OF_ROWS = [[[3], [0]], [[1], [2]]]


def scatter_nd(indices: list, data_shape=(4, 3), updates_shape=(2, 2, 3)) -> LayerSpec:
    return _onnx("ScatterND", {"opset": 16, "operands": [
        "in", {"const": indices, "dtype": "int64"}, "in"]}, [data_shape, updates_shape])


def _scatter_rows(data: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> np.ndarray:
    out = data.copy()
    depth = indices.shape[-1]
    for tuple_, update in zip(indices.reshape(-1, depth),
                              updates.reshape(-1, *updates.shape[indices.ndim - 1:])):
        out[tuple(tuple_)] = update
    return out


def test_scatter_nd_indices_laid_out_in_a_grid():
    """Indices of rank 3: each tuple's update is the one at the same place in the grid (the
    grid read column by column puts them in the wrong rows)."""
    _check(scatter_nd(GRID_OF_ROWS),
           lambda x, w: _scatter_rows(x[0], w[0], x[1]),
           lambda x, w: _scatter_rows(x[0], w[0].transpose(1, 0, 2), x[1]))


def test_a_scatter_nd_reading_the_index_depth_as_dim_1_fails_on_a_grid(monkeypatch):
    """onnx2torch's ScatterND planted to read the index depth from dim 1 of the indices, not
    the last (a one-line fault ``harness.tools.ci_kills`` draws): indices in a grid show it;
    a list of depth-1 tuples, where dim 1 is the depth, hides it (why the draw lays indices
    out as one tuple, a list and a grid)."""
    pytest.importorskip("onnx2torch")
    import inspect

    from onnx2torch.node_converters import scatter_nd as converter

    from harness.run.pipeline import Harness

    source = inspect.getsource(converter.OnnxScatterND)
    planted = source.replace("indices.shape[-1]", "indices.shape[1]")
    assert planted != source, "onnx2torch's ScatterND no longer reads indices.shape[-1]"
    namespace = dict(vars(converter))
    exec(compile(planted, converter.__file__, "exec"), namespace)  # noqa: S102 (our own fault)
    monkeypatch.setattr(converter.OnnxScatterND, "forward", namespace["OnnxScatterND"].forward)

    harness = Harness("onnx>onnx2torch", diagnose=False)
    [leg] = harness.run(scatter_nd(GRID_OF_ROWS)).legs
    assert leg.verdict != "pass" and leg.known_issue is None, (leg.verdict, leg.message)
    [leg] = harness.run(scatter_nd([[3], [0]], updates_shape=(2, 3))).legs
    assert leg.verdict == "pass", leg.message


def test_scatter_nd_draws_lay_indices_out_as_one_tuple_a_list_and_a_grid():
    """Among drawn ScatterND cases, indices of rank 1, 2 and 3, and a grid whose dim 1 is not
    its depth; the updates are shaped as the indices lay the tuples out."""
    ranks, shown = set(), False
    for drawn in sample("ScatterND", 40, source="onnx"):
        indices = np.asarray(drawn.attrs["operands"][1]["const"])
        data_shape, updates_shape = drawn.input_shapes
        depth = indices.shape[-1]
        assert tuple(updates_shape) == (*indices.shape[:-1], *data_shape[depth:])
        ranks.add(indices.ndim)
        shown |= indices.ndim == 3 and indices.shape[1] != depth
    assert ranks == {1, 2, 3} and shown


# -- known issues -----------------------------------------------------------------------------

def test_the_known_issues_of_these_kinds_load_and_name_their_source():
    issues = known_issues.load(KNOWN_ISSUES)
    assert len(issues) >= 50
    onnx_names = set(registry.names(source="onnx"))
    for issue in issues:
        assert issue.source == "onnx", issue.id
        assert issue.url.startswith("https://github.com/"), issue.id
        onnx_specs = [spec for spec in issue.minimals if spec.source == "onnx"]
        assert onnx_specs and all(spec.kind in onnx_names for spec in onnx_specs), issue.id
        # An entry about a converter's handling of a node holds for every source
        # (*>onnx2torch), an ONNX-only one for the ONNX source's legs; onnxruntime's own
        # kernel shows on its optimised leg too, and on the ONNX rewriters' legs, which
        # onnxruntime reads (docs/rewriters.md).
        assert set(issue.globs) <= {"onnx", "onnx>onnx2torch", "onnx>onnx2pytorch",
                                    "onnx>ort-optimized", "*>onnx2torch", "*>onnx2pytorch",
                                    "onnx>onnxsim", "onnx>onnxslim",
                                    "onnx>onnxoptimizer"}, issue.id
    # every id unique across all known-issue files
    known_issues.load()
