"""The importer imports what the requested outputs need: training-only layers fed by a label
variable (custom losses and metrics of DagNN networks found in the wild) are dropped with a
note naming them, `outputs=` / `--output NAME` pick other outputs, and a layer on the way to
an output without a handler still fails with the usual error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import harness.mat as hm
from harness.cli import main as _cli
from harness.mat import layout
from harness.sources.mat.case import MatCase, network_spec
from harness.sources.mat.writer import cell, save_mat

CONV = ("conv", {"k": [3, 3], "filters": 3, "stride": [1, 1], "dilation": [1, 1],
                 "pad": [1, 1, 1, 1], "groups": 1, "bias": True})
SPEC = network_spec([CONV, ("relu", {"leak": 0.0}), ("softmax", {})],
                    input_shape=(2, 2, 5, 6), fmt="dagnn", seed=5)


def _dagnn_with_custom_training_layers(tmp_path):
    """The project's DagNN with its loss a custom class and a custom metric, both fed by
    the network's prediction and the `label` variable."""
    variables = MatCase(SPEC).variables()
    net = variables["net"]
    objective = net["layers"].items[-1]
    assert list(objective["inputs"].ravel()) == ["softmax3_out", "label"]
    objective["type"] = "mylab.HingeLoss"
    net["layers"].items.append({"name": "top1err", "type": "mylab.Top1Error",
                                "inputs": cell(["softmax3_out", "label"]),
                                "outputs": cell(["top1err"]), "params": cell([]),
                                "block": {}})
    net["vars"].items.append({"name": "top1err", "precious": np.array([[False]])})
    path = tmp_path / "trained.mat"
    save_mat(path, variables)
    return path


def _run(module, case: MatCase) -> np.ndarray:
    x = case.matlab_inputs()[0]
    with torch.no_grad():
        return layout.image_to_matlab(module(torch.from_numpy(layout.image_to_torch(x))).numpy())


def test_custom_loss_and_metric_fed_by_labels_are_dropped_with_notes(tmp_path):
    path = _dagnn_with_custom_training_layers(tmp_path)
    network = hm.load_network(path)
    assert network.inputs == ["input"] and network.outputs == ["softmax3_out"]
    assert [layer.name for layer in network.layers] == ["conv1", "relu2", "softmax3"]
    notes = "\n".join(network.notes)
    assert "dropped training-only layer 4 'objective' (type 'mylab.HingeLoss')" in notes
    assert "dropped training-only layer 5 'top1err' (type 'mylab.Top1Error')" in notes
    case = MatCase(SPEC)
    np.testing.assert_allclose(_run(hm.to_torch(path), case), case.expected(
        case.matlab_inputs()[0]), rtol=1e-5, atol=1e-5)
    assert "mylab.HingeLoss" in hm.inspect(path)  # named in the listing's notes


def test_requested_outputs_choose_what_is_imported(tmp_path):
    path = _dagnn_with_custom_training_layers(tmp_path)
    case = MatCase(SPEC)
    module = hm.to_torch(path, outputs=["conv1"])  # a layer: its output
    assert set(module.matlab_layers.values()) == {("conv1", "conv")}
    want = case.trace(case.matlab_inputs()[0])["conv1"]
    np.testing.assert_allclose(_run(module, case), want, rtol=1e-5, atol=1e-5)
    network = hm.load_network(path, outputs=["relu2_out"])  # a variable
    assert [layer.name for layer in network.layers] == ["conv1", "relu2"]
    assert any("'softmax3' (type 'softmax')" in note for note in network.notes)


def test_a_requested_training_layer_without_handler_still_fails(tmp_path):
    path = _dagnn_with_custom_training_layers(tmp_path)
    with pytest.raises(hm.MatImportError, match=r"layer 4 'objective' \(type "
                                                r"'mylab.HingeLoss'\) has no handler"):
        hm.to_torch(path, outputs=["objective"])
    with pytest.raises(hm.MatImportError, match="requested output 'nowhere' is neither"):
        hm.to_torch(path, outputs=["nowhere"])


def test_a_layer_on_the_path_without_handler_still_fails(tmp_path):
    variables = MatCase(SPEC).variables()
    variables["net"]["layers"].items[1]["type"] = "mylab.Swish"
    path = tmp_path / "custom.mat"
    save_mat(path, variables)
    with pytest.raises(hm.MatImportError, match=r"layer 2 'relu2' \(type 'mylab.Swish'\) "
                                                r"has no handler; register one"):
        hm.to_torch(path)


def test_simplenn_output_cuts_the_chain(tmp_path):
    path = tmp_path / "chain.mat"
    MatCase(SPEC).write(path, fmt="simplenn")
    network = hm.load_network(path, outputs=["relu2"])
    assert [layer.name for layer in network.layers] == ["conv1", "relu2"]
    assert any("dropped layer 3 'softmax3'" in note for note in network.notes)


def test_cli_output_picks_outputs_and_prints_the_notes(tmp_path, capsys):
    path = _dagnn_with_custom_training_layers(tmp_path)
    archive = tmp_path / "net.pt"
    assert _cli(["mat2torch", str(path), "-o", str(archive), "--output", "relu2"]) == 0
    out = capsys.readouterr().out
    assert "note: dropped layer 3 'softmax3' (type 'softmax')" in out
    assert "note: dropped layer 4 'objective' (type 'mylab.HingeLoss')" in out
    assert "outputs relu2_out" in out
    assert _cli(["mat2torch", str(path), "-o", str(archive), "--output", "objective"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) <= 3 and "'mylab.HingeLoss') has no handler" in err
