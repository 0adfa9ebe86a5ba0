"""Unit tests of the importer's pieces: layout helpers, the reader's MATLAB pitfalls, the
graph wiring, handlers, the saved archive and the CLI glue."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

import harness.mat as hm
from harness.cli import main as _cli
from harness.mat import layout
from harness.mat.builder import module_name
from harness.mat.reader import read_mat
from harness.mat.save import TORCHSCRIPT, load_saved, save_module
from harness.sources.mat.case import MatCase, network_spec
from harness.sources.mat.writer import V7, V73, StructArray, cell, save_mat

CONV = ("conv", {"k": [3, 2], "filters": 1, "stride": [1, 1], "dilation": [1, 1],
                 "pad": [0, 1, 1, 0], "groups": 1, "bias": True})
CONV_SPEC = network_spec([CONV], input_shape=(2, 3, 5, 4), seed=7)


# --- layouts ----------------------------------------------------------------------------


def test_restore_rank_puts_back_dropped_trailing_singletons():
    assert layout.restore_rank(np.zeros((3, 3, 64)), 4).shape == (3, 3, 64, 1)
    assert layout.restore_rank(np.zeros((3, 3)), 4).shape == (3, 3, 1, 1)
    assert layout.matlab_shape(np.zeros((3, 3, 64, 1))) == (3, 3, 64)
    with pytest.raises(ValueError):
        layout.restore_rank(np.zeros((2, 2, 2)), 2)


def test_image_and_sequence_layouts_round_trip():
    x = np.random.default_rng(0).standard_normal((5, 4, 3, 2))
    assert layout.image_to_torch(x).shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(layout.image_to_matlab(layout.image_to_torch(x)), x)
    s = np.random.default_rng(1).standard_normal((3, 2, 7))  # C×N×T
    assert layout.sequence_to_torch(s).shape == (2, 7, 3)
    np.testing.assert_array_equal(layout.sequence_to_matlab(layout.sequence_to_torch(s)), s)
    assert layout.image_to_torch(np.ones((5, 4, 3))).shape == (1, 3, 5, 4)  # N = 1 dropped


def test_fc_weights_for_pytorch_flatten_equal_matlab_column_major_flatten():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 2, 5))  # H×W×C×N
    w = rng.standard_normal((6, 3 * 4 * 2))
    want = w @ layout.matlab_flatten(x)
    moved = layout.fc_weight_to_torch(w, (3, 4, 2))
    got = moved @ layout.image_to_torch(x).reshape(5, -1).T  # PyTorch's NCHW flatten(1)
    np.testing.assert_allclose(got, want)
    assert not np.allclose(w @ layout.image_to_torch(x).reshape(5, -1).T, want)


def test_grouped_conv_weight_layout():
    w = np.arange(2 * 2 * 3 * 4 * 2, dtype=float).reshape(2, 2, 3, 4, 2)  # kH kW Cpg Fpg G
    moved = layout.grouped_conv_weight_to_torch(w)
    assert moved.shape == (8, 3, 2, 2)
    np.testing.assert_array_equal(moved[4 + 1, 2, 0, 1], w[0, 1, 2, 1, 1])  # g=1, f=1


def test_matlab_dims_map_to_torch_axes():
    assert [layout.dim_to_torch(d) for d in (1, 2, 3, 4)] == [2, 3, 1, 0]


# --- reader pitfalls --------------------------------------------------------------------


def test_level5_integer_valued_doubles_stay_double(tmp_path):
    path = tmp_path / "ints.mat"
    scipy.io.savemat(path, {"pad": np.array([[1.0, 0.0, 2.0, 1.0]]), "name": "conv1"})
    values = read_mat(path)
    assert values["pad"].dtype == np.float64 and values["name"] == "conv1"


@pytest.mark.parametrize("version", [V7, V73])
def test_reader_restores_matlab_shapes_cells_and_chars(tmp_path, version):
    w = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    path = tmp_path / "values.mat"
    save_mat(path, {"s": {"w": w, "c": cell(["ab", np.ones((1, 2))], (2, 1)), "t": "héllo",
                          "flag": np.array([[True, False]]),
                          "arr": StructArray([{"a": "x"}, {"a": "y"}])}}, version)
    s = read_mat(path)["s"]
    np.testing.assert_array_equal(s["w"], w)  # h5py's reversed axes undone
    assert s["w"].dtype == np.float32
    assert s["c"].shape == (2, 1) and s["c"][0, 0] == "ab"
    assert s["t"] == "héllo" and s["flag"].dtype == bool
    assert [item["a"] for item in s["arr"].ravel()] == ["x", "y"]


@pytest.mark.parametrize("version", [V7, V73])
def test_single_filter_conv_stored_three_d_imports(tmp_path, version):
    case = MatCase(CONV_SPEC)
    variables = case.variables("simplenn")
    assert variables["net"]["layers"][0, 0]["weights"][0, 0].shape == (3, 2, 3, 1)
    path = tmp_path / "one_filter.mat"
    save_mat(path, variables, version)
    assert hm.load_network(path).layers[0].param(0).shape == (3, 2, 3)  # as MATLAB stores it
    x = case.matlab_inputs()[0]
    got = hm.to_torch(path)(torch.from_numpy(layout.image_to_torch(x))).detach().numpy()
    np.testing.assert_allclose(layout.image_to_matlab(got), case.expected(x),
                               rtol=1e-5, atol=1e-5)


def test_dlt_ports_order_inputs_not_connection_order(tmp_path):
    def branch(filters):
        return {"k": [3, 3], "filters": filters, "stride": [1, 1], "dilation": [1, 1],
                "pad": [1, 1, 1, 1], "groups": 1, "bias": True}

    case = MatCase(network_spec([("conv", branch(1)), ("conv", branch(2), [0]),
                                 ("concat", {"layer": "depth"}, [1, 2])],
                                input_shape=(1, 1, 4, 4), seed=1))
    variables = case.variables("dlt")
    connections = variables["connections"]
    # 'concat3/in2' listed before 'concat3/in1'
    variables["connections"] = connections[[0, 1, 3, 2, 4]]
    path = tmp_path / "ports.mat"
    save_mat(path, variables)
    x = case.matlab_inputs()[0]
    got = hm.to_torch(path)(torch.from_numpy(layout.image_to_torch(x))).detach().numpy()
    np.testing.assert_allclose(layout.image_to_matlab(got), case.expected(x), rtol=1e-5,
                               atol=1e-5)


def test_max_pool_pads_with_minus_infinity_and_avg_excludes_padding(tmp_path):
    def pool(method):
        return network_spec([("pool", {"method": method, "k": [2, 2], "stride": [1, 1],
                                       "pad": [1, 0, 1, 0], "count_pad": False})],
                            input_shape=(1, 1, 3, 3), fmt="simplenn")

    path = tmp_path / "pool.mat"
    MatCase(pool("max")).write(path)
    x = -np.ones((3, 3, 1, 1), np.float32)  # a zero-padded max would give 0 at the border
    y = hm.to_torch(path)(torch.from_numpy(layout.image_to_torch(x))).detach().numpy()
    assert (y == -1).all()
    MatCase(pool("avg")).write(path)
    y = hm.to_torch(path)(torch.from_numpy(layout.image_to_torch(x))).detach().numpy()
    assert np.allclose(y, -1)  # padding excluded from the average


@pytest.mark.parametrize("fmt", ["simplenn", "dagnn"])
def test_matconvnet_bnorm_computes_its_formula_with_no_zero_epsilon(tmp_path, fmt):
    """MatConvNet's sigma holds epsilon: the importer computes g·(x − mean)/sigma + b itself,
    with no torch batch norm at eps=0 (torch 2.11 refuses one, torch 2.15 accepts it)."""
    spec = network_spec([CONV, ("bnorm", {"eps": 1e-5})], input_shape=(2, 3, 5, 4), seed=11,
                        fmt=fmt)
    path = tmp_path / "bnorm.mat"
    case = MatCase(spec)
    case.write(path)
    module = hm.to_torch(path)
    assert all(getattr(m, "eps", 1.0) > 0 for m in module.modules())
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
    x = case.matlab_inputs()[0]
    got = module(torch.from_numpy(layout.image_to_torch(x))).detach().numpy()
    np.testing.assert_allclose(layout.image_to_matlab(got), case.expected(x), rtol=1e-5,
                               atol=1e-5)
    archive = tmp_path / "bnorm.pt"
    save_module(module, archive, [(1, 3, 5, 4)], kind=TORCHSCRIPT)
    y = torch.randn(3, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(load_saved(archive)(y), module(y))


# --- naming, handlers, saving -----------------------------------------------------------


def test_module_names_are_sanitised_and_unique():
    taken: set[str] = set()
    assert module_name("res2a/branch1", taken) == "res2a_branch1"
    assert module_name("res2a/branch1", taken) == "res2a_branch1_2"
    assert module_name("1conv", taken) == "layer_1conv"
    assert module_name("forward", taken) == "layer_forward"


def test_submodules_are_named_after_matlab_layers(tmp_path):
    path = tmp_path / "net.mat"
    save_mat(path, MatCase(CONV_SPEC).variables("dlt"))
    module = hm.to_torch(path)
    assert isinstance(module, torch.fx.GraphModule)
    assert {name for name, _ in module.named_children()} == {"layer_input", "conv1"}
    assert module.matlab_layers["conv1"] == ("conv1", "Convolution2DLayer")


def test_register_layer_handler_as_decorator_and_override(tmp_path):
    path = tmp_path / "net.mat"
    save_mat(path, MatCase(network_spec([CONV, ("relu", {"leak": 0.0})],
                                        input_shape=(2, 3, 5, 4), seed=7)).variables("simplenn"))

    @hm.register_layer_handler("relu")
    def tanh_instead(layer):
        return nn.Tanh()

    try:
        assert isinstance(hm.to_torch(path).relu2, nn.Tanh)
        assert isinstance(hm.to_torch(path, handlers={"relu": lambda layer: nn.Identity()}).relu2,
                          nn.Identity)  # handlers= beats the registry
    finally:
        hm.unregister_layer_handler("relu")
    assert isinstance(hm.to_torch(path).relu2, nn.ReLU)
    with pytest.raises(TypeError):
        hm.register_layer_handler("relu", 3)


@pytest.mark.parametrize("kind", ["export", TORCHSCRIPT])
def test_saved_archive_loads_and_computes_the_same(tmp_path, kind):
    path = tmp_path / "net.mat"
    save_mat(path, MatCase(CONV_SPEC).variables("dlt"), V73)
    module = hm.to_torch(path)
    archive = tmp_path / "net.pt"
    save_module(module, archive, [(1, 3, 5, 4)], kind=kind)
    loaded = load_saved(archive)
    x = torch.randn(3, 3, 9, 7)  # another batch and spatial size than the example
    torch.testing.assert_close(loaded(x), module(x))


def test_inspect_lists_layers_and_support(tmp_path):
    variables = MatCase(CONV_SPEC).variables("simplenn")
    variables["net"]["layers"][0, 0]["type"] = "SubP"
    path = tmp_path / "net.mat"
    save_mat(path, variables)
    listing = hm.inspect(path)
    assert "SubP" in listing and "NO HANDLER" in listing and "3x2x3" in listing
    assert "dropped training-only layer 2 'loss'" in listing


# --- CLI glue ---------------------------------------------------------------------------


def test_cli_mat2torch_and_inspect(tmp_path, capsys):
    path = tmp_path / "net.mat"
    save_mat(path, MatCase(CONV_SPEC).variables("simplenn"))
    out = tmp_path / "model.pt"
    assert _cli(["mat2torch", str(path), "-o", str(out)]) == 0
    with open(out, "rb") as handle:
        program = torch.export.load(handle)
    assert program.module()(torch.zeros(2, 3, 8, 8)).shape == (2, 1, 7, 8)
    assert _cli(["mat", "inspect", str(path)]) == 0
    assert "conv1" in capsys.readouterr().out


def test_cli_errors_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file at all")
    assert _cli(["mat", "inspect", str(bad)]) == 2
    assert _cli(["mat2torch", str(bad), "-o", str(tmp_path / "x.pt")]) == 2
    assert "not a MATLAB .mat file" in capsys.readouterr().err
