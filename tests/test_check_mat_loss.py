"""``parity check`` on MatConvNet networks saved with their training loss inside.

LapSRN-style DagNN networks take an image ``LR`` and a label ``level1_HR``, and their one
declared output is a custom loss layer (``dagnn.vllab_dag_loss``) that no handler imports.
The tests write such networks with the project's own writers (``MatCase`` and
``harness.sources.mat.writer``, ``-v7`` and ``-v7.3``), check them as a user would, and read the
verdict again by hand: the NumPy model of MATLAB's semantics, the importer in float64 and in
float32 on the very inputs the check drew. Every refusal names what would make the file
checkable, and each test then follows that advice and sees the check run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")
pytest.importorskip("h5py")

import harness.mat as hm  # noqa: E402
from harness.check import FILE_ATOL, FILE_RTOL, CheckOptions, run_check  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.sources import file as files  # noqa: E402
from harness.sources.mat.case import MatCase, network_spec  # noqa: E402
from harness.sources.mat.layer import IMAGE, to_matlab, to_torch  # noqa: E402
from harness.sources.mat.writer import V7, V73, cell, save_mat  # noqa: E402
from tests.check_cli import PLUGIN, check_json  # noqa: E402
from tests.mat_networks import CONV, FIXTURES  # noqa: E402

LOSS = "dagnn.vllab_dag_loss"
UP = {"k": [4, 4], "upsample": [2, 2], "crop": [1, 1, 1, 1], "groups": 1}
# LapSRN's level: features (conv, leaky relu), upsampled by a transposed convolution to a
# residual, added to the image upsampled by another: level1_output is twice LR's size.
LEVEL1 = [("conv", CONV), ("relu", {"leak": 0.2}), ("convt", {**UP, "filters": 4}),
          ("conv", {**CONV, "filters": 1}), ("convt", {**UP, "filters": 1}, [0]),
          ("sum", {}, [4, 5])]
LEVEL2 = [("convt", {**UP, "filters": 1}, [6])]  # x4: level 2 upsamples level1_output


def lapsrn(path: Path, version: str = V7, levels: int = 1, extra=None,
           reorder: bool = False, input_size=None, types=None, reads=None) -> MatCase:
    """A LapSRN-style DagNN trained with its losses inside, written by the project's writers:
    each level's output feeds a custom loss layer together with a label input that nothing
    else reads; no input size declared (unless ``input_size``, MATLAB's [H W C]); ``types``
    renames layers' types (to a custom class), ``reads`` the variables layers read."""
    case = MatCase(network_spec(LEVEL1 + (LEVEL2 if levels > 1 else []),
                                input_shape=(1, 1, 6, 6), fmt="dagnn", seed=7))
    variables = case.variables()
    net = variables["net"]
    level_outputs = ["sum6_out", "convt7_out"][:levels]
    rename = {"input": "LR", **{old: f"level{k}_output"
                                for k, old in enumerate(level_outputs, start=1)}}
    layers = net["layers"].items[:-1]  # the writer's own dagnn.Loss against 'label'
    for item in layers:
        item["type"] = (types or {}).get(item["name"], item["type"])
        if item["name"] in (reads or {}):
            item["inputs"] = cell(reads[item["name"]])
        item["inputs"] = cell([rename.get(x, x) for x in item["inputs"].ravel()])
        item["outputs"] = cell([rename.get(x, x) for x in item["outputs"].ravel()])
    names = [rename.get(v["name"], v["name"]) for v in net["vars"].items
             if v["name"] not in ("label", "objective")]
    names += [x for read in (reads or {}).values() for x in read if x not in names]
    for k in range(1, levels + 1):
        layers.append({"name": f"level{k}_loss", "type": LOSS,
                       "inputs": cell([f"level{k}_output", f"level{k}_HR"]),
                       "outputs": cell([f"level{k}_loss"]), "params": cell([]),
                       "block": {"loss_type": "L1"}})
        names += [f"level{k}_HR", f"level{k}_loss"]
    for item in extra or ():
        layers.append(item)
        names += list(item["outputs"].ravel())
    if reorder:  # the image upsampling first: no convolution to take the channels from
        layers.insert(0, layers.pop(4))
    net["layers"].items = layers
    net["vars"].items = [{"name": n, "precious": np.array([[False]])} for n in names]
    net["meta"] = {"inputSize": np.array([input_size], float)} if input_size else {
        "scale": np.array([[2.0 ** levels]])}
    save_mat(path, variables, version)
    return case


def matlab_outputs(case: MatCase, x: np.ndarray, levels: int = 1) -> list[np.ndarray]:
    """MATLAB's level outputs for ``x`` (PyTorch layout), from the NumPy reference, float64."""
    trace = case.trace(to_matlab(x, IMAGE))
    return [to_torch(trace[name], IMAGE) for name in ["sum6", "convt7"][:levels]]


def refusal(capsys, *args) -> str:
    assert main(["check", *map(str, args), "-q", "--report", "none"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def by_hand(path: Path, case: MatCase, outcome, levels: int = 1, outputs=None) -> float:
    """The check's verdict read again: on each set of inputs the check drew, the importer in
    float64 against the NumPy model (the reference is right) and in float32 against float64
    rounded to float32, as the check keeps its reference (the leg's difference, within the
    check's tolerance); returns the largest difference."""
    module = hm.to_torch(path, outputs=outputs)
    worst = 0.0
    for result in outcome.cases:
        inputs = files.case_inputs(result.spec)
        assert [x.shape[1] for x in inputs] == [1]  # channels from conv1's weights
        expected = matlab_outputs(case, inputs[0], levels)
        with torch.no_grad():
            single = module(torch.from_numpy(inputs[0]))
            double = module.double()(torch.from_numpy(inputs[0]).double())
            module.float()
        single = [single] if isinstance(single, torch.Tensor) else list(single)
        double = [double] if isinstance(double, torch.Tensor) else list(double)
        assert len(double) == levels
        for want, got64, got32 in zip(expected, double, single):
            np.testing.assert_allclose(got64.numpy(), want, rtol=1e-10, atol=1e-10)
            reference = got64.numpy().astype(np.float32)  # as the check stores it
            error = np.abs(got32.numpy().astype(np.float64) - reference)
            assert np.all(error <= FILE_ATOL + FILE_RTOL * np.abs(reference))
            worst = max(worst, float(error.max()))
    return worst


@pytest.mark.parametrize("version", [V7, V73])
def test_a_network_trained_with_its_loss_inside_is_checked_on_what_fed_the_loss(
        capsys, tmp_path, version):
    path = tmp_path / "lapsrn.mat"
    case = lapsrn(path, version)
    code, payload = check_json(capsys, path)
    assert code == 0, payload
    (leg,) = payload["legs"]
    assert leg["leg"] == "mat>mat2torch" and leg["verdict"] == "agrees"
    notes = "\n".join(payload["notes"])
    assert f"dropped training-only layer 7 'level1_loss' (type '{LOSS}')" in notes
    assert "label input 'level1_HR'" in notes and "outputs level1_output" in notes
    # Not declared: drawn as other free-spatial files, channels from conv1's weights.
    assert payload["sizes"] == [[[4, 1, 64, 64]], [[1, 1, 96, 96]]]
    outcome = run_check(CheckOptions(model=str(path), report=None))
    assert [row.verdict for row in outcome.rows] == ["agrees"]
    worst = by_hand(path, case, outcome)
    assert worst > 0 and outcome.rows[0].max_abs == pytest.approx(worst, rel=1e-6)


def test_output_names_what_to_check(capsys, tmp_path):
    path = tmp_path / "lapsrn.mat"
    case = lapsrn(path, V73)
    code, payload = check_json(capsys, path, "--output", "level1_output")
    assert code == 0 and payload["legs"][0]["verdict"] == "agrees"
    assert any(f"dropped layer 7 'level1_loss' (type '{LOSS}')" in n for n in payload["notes"])
    # Two outputs on the way (a layer and a variable): each checked.
    outcome = run_check(CheckOptions(model=str(path), report=None,
                                     outputs=["conv4", "convt5_out"]))
    assert outcome.exit_code == 0 and outcome.cases[0].spec.attrs["outputs"] == [
        "conv4", "convt5_out"]
    inputs = files.case_inputs(outcome.cases[0].spec)
    trace = case.trace(to_matlab(inputs[0], IMAGE))
    module = hm.to_torch(path, outputs=["conv4", "convt5_out"])
    with torch.no_grad():
        got = module(torch.from_numpy(inputs[0]))
    for name, y in zip(("conv4", "convt5"), got):
        np.testing.assert_allclose(y.numpy(), to_torch(trace[name], IMAGE), rtol=1e-4,
                                   atol=1e-5)
    # The loss itself has no handler: the line says how to make it checkable.
    err = refusal(capsys, path, "--output", "level1_loss")
    assert f"(type '{LOSS}') has no handler" in err and "--plugins MODULE" in err
    assert "--output level1_output" in err
    assert "neither a layer nor a variable" in refusal(capsys, path, "--output", "nowhere")


def test_a_faulty_importer_still_differs_on_such_a_network(capsys, tmp_path):
    path = tmp_path / "lapsrn.mat"
    lapsrn(path)
    code, payload = check_json(capsys, path, "--paths", "mat>mat2torch-check-fault",
                               "--plugins", PLUGIN)
    assert code == 1 and payload["legs"][0]["verdict"] == "differs"


def test_x4_checks_every_level_that_fed_a_loss(capsys, tmp_path):
    path = tmp_path / "lapsrn_x4.mat"
    case = lapsrn(path, V7, levels=2)
    outcome = run_check(CheckOptions(model=str(path), report=None))
    assert outcome.exit_code == 0
    notes = "\n".join(outcome.notes)
    assert "'level1_loss'" in notes and "'level2_loss'" in notes
    assert "outputs level1_output, level2_output" in notes  # level 1 feeds level 2 too
    worst = by_hand(path, case, outcome, levels=2)
    assert outcome.rows[0].max_abs == pytest.approx(worst, rel=1e-6)


def test_your_inputs_npz_and_images_run_on_such_a_network(capsys, tmp_path):
    from PIL import Image

    path = tmp_path / "lapsrn.mat"
    case = lapsrn(path, V73)
    rng = np.random.default_rng(11)
    data = tmp_path / "lr.npz"
    np.savez(data, LR=rng.random((2, 1, 10, 12)).astype(np.float32))
    code, payload = check_json(capsys, path, "--inputs", data)
    assert code == 0 and payload["sizes"] == [[[2, 1, 10, 12]]]
    outcome = run_check(CheckOptions(model=str(path), report=None, inputs=str(data)))
    assert by_hand(path, case, outcome) == pytest.approx(outcome.rows[0].max_abs, rel=1e-6)
    folder = tmp_path / "images"
    folder.mkdir()
    for k in range(3):
        Image.fromarray((rng.random((14, 9)) * 255).astype(np.uint8)).save(folder / f"{k}.png")
    code, payload = check_json(capsys, path, "--inputs", folder)
    assert code == 0 and payload["sizes"] == [[[3, 1, 14, 9]]]
    assert payload["legs"][0]["verdict"] == "agrees"


def test_an_undeclared_size_without_a_first_convolution_names_what_to_give(capsys, tmp_path):
    path = tmp_path / "lapsrn.mat"
    case = lapsrn(path, V7, reorder=True)
    err = refusal(capsys, path)
    assert "does not declare its input size" in err and "--inputs DATA.npz" in err
    assert "net.meta.inputSize" in err
    # Followed: an .npz of the input it names ...
    data = tmp_path / "lr.npz"
    np.savez(data, LR=np.random.default_rng(3).random((1, 1, 7, 5)).astype(np.float32))
    outcome = run_check(CheckOptions(model=str(path), report=None, inputs=str(data)))
    assert outcome.exit_code == 0
    assert by_hand(path, case, outcome) == pytest.approx(outcome.rows[0].max_abs, rel=1e-6)
    # ... or the size declared in the file.
    declared = tmp_path / "declared.mat"
    lapsrn(declared, V7, reorder=True, input_size=[8, 6, 1])
    code, payload = check_json(capsys, declared)
    assert code == 0 and payload["sizes"] == [[[4, 1, 8, 6]], [[1, 1, 8, 6]]]


def test_several_inputs_without_sizes_name_the_npz_that_makes_them_checkable(
        capsys, tmp_path):
    path = tmp_path / "two_inputs.mat"
    lapsrn(path, V73, reads={"convt5": ["bicubic"]})  # the image path from its own input
    err = refusal(capsys, path)
    assert "takes 2 inputs ('LR', 'bicubic')" in err
    assert "--inputs DATA.npz (arrays named 'LR', 'bicubic'" in err
    data = tmp_path / "both.npz"
    rng = np.random.default_rng(5)
    np.savez(data, LR=rng.random((2, 1, 9, 7), np.float32),
             bicubic=rng.random((2, 1, 9, 7), np.float32))
    code, payload = check_json(capsys, path, "--inputs", data)
    assert code == 0 and payload["legs"][0]["verdict"] == "agrees"
    assert any("label input 'level1_HR'" in note for note in payload["notes"])


def test_a_custom_layer_on_the_way_names_the_plugin_that_makes_it_checkable(
        capsys, tmp_path, monkeypatch):
    path = tmp_path / "custom.mat"
    case = lapsrn(path, V7, types={"relu2": "mylab.LeakyReLU"})  # its leaky ReLU custom
    err = refusal(capsys, path)
    assert "layer 2 'relu2' (type 'mylab.LeakyReLU') has no handler" in err
    assert "register_layer_handler('mylab.LeakyReLU', fn)" in err and "--plugins MODULE" in err
    # Followed: a module that registers the handler, named with --plugins.
    plugin = "mat_loss_leaky_plugin"
    (tmp_path / f"{plugin}.py").write_text(
        "import torch\nimport harness.mat as hm\n\n"
        "hm.register_layer_handler('mylab.LeakyReLU', "
        "lambda layer: torch.nn.LeakyReLU(float(layer.attrs['leak'].ravel()[0])))\n")
    monkeypatch.chdir(tmp_path)
    try:
        outcome = run_check(CheckOptions(model=str(path), report=None,
                                         plugins=[plugin]))
        assert outcome.exit_code == 0
        assert by_hand(path, case, outcome) == pytest.approx(
            outcome.rows[0].max_abs, rel=1e-6)
    finally:
        hm.unregister_layer_handler("mylab.LeakyReLU")
        sys.modules.pop(plugin, None)


def test_a_custom_output_without_a_label_is_not_dropped_and_output_names_the_way(
        capsys, tmp_path):
    path = tmp_path / "lapsrn.mat"
    clip = {"name": "clip", "type": "mylab.Clip", "inputs": cell(["level1_output"]),
            "outputs": cell(["clipped"]), "params": cell([]), "block": {}}
    case = lapsrn(path, V73, extra=[clip])
    err = refusal(capsys, path)
    assert "(type 'mylab.Clip') has no handler" in err
    assert f"(type '{LOSS}') has no handler" in err  # not taken for training-only
    assert "--output level1_output" in err
    outcome = run_check(CheckOptions(model=str(path), report=None, outputs=["level1_output"]))
    assert outcome.exit_code == 0
    worst = by_hand(path, case, outcome, outputs=["level1_output"])
    assert outcome.rows[0].max_abs == pytest.approx(worst, rel=1e-6)


def test_output_is_refused_where_it_does_not_apply_and_the_advice_works(capsys, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["hidden"]), helper.make_node("Neg", ["hidden"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    err = refusal(capsys, path, "--output", "hidden")
    assert "--output picks the outputs of a MATLAB .mat network" in err
    assert "onnx.utils.extract_model" in err
    cut = tmp_path / "cut.onnx"
    onnx.utils.extract_model(str(path), str(cut), ["x"], ["hidden"])
    code, payload = check_json(capsys, cut, "--paths", "onnx>ort-optimized")
    assert code == 0 and payload["legs"][0]["verdict"] == "agrees"


FFDNET_HANDLERS = """\
import harness.mat as hm
from tests.mat_networks import ffdnet_handlers

for kind, handler in ffdnet_handlers(25 / 255).items():
    hm.register_layer_handler(kind, handler)
"""


@pytest.mark.skipif(not (FIXTURES / "matconvnet").is_dir(), reason="no shared fixtures")
def test_ffdnet_names_what_would_make_it_checkable_and_that_works(
        capsys, tmp_path, monkeypatch):
    path = FIXTURES / "matconvnet" / "ffdnet_gray_v5.mat"
    err = refusal(capsys, path)
    assert str(path) in err and "(type 'SubP') has no handler" in err
    assert "(type 'concat')" in err  # a built-in that refuses a SimpleNN concat
    assert "register a handler for 'SubP', 'concat'" in err and "--plugins MODULE" in err
    # Followed: handlers in a module named with --plugins. The channels cannot be taken
    # from the first convolution now (SubP comes first), and the line says what to give.
    (tmp_path / "ffdnet_handlers.py").write_text(FFDNET_HANDLERS)
    monkeypatch.chdir(tmp_path)
    try:
        err = refusal(capsys, path, "--plugins", "ffdnet_handlers")
        assert "(type 'SubP') comes first" in err and "--inputs DATA.npz" in err
        data = tmp_path / "noisy.npz"
        np.savez(data, input=np.random.default_rng(0).random((2, 1, 32, 40), np.float32))
        code, payload = check_json(capsys, path, "--plugins", "ffdnet_handlers",
                                   "--inputs", data)
        assert code == 0 and payload["legs"][0]["verdict"] == "agrees"
    finally:
        hm.unregister_layer_handler("SubP")
        hm.unregister_layer_handler("concat")
        sys.modules.pop("ffdnet_handlers", None)


@pytest.mark.parametrize("outputs, shape", [([], (4, 1, 128, 128)),
                                            (["--output", "relu2"], (4, 4, 64, 64))])
def test_pin_such_a_network_and_replay_it(capsys, tmp_path, outputs, shape):
    from harness import golden
    from harness.run.pipeline import Harness

    path = tmp_path / "lapsrn.mat"
    lapsrn(path, V73)
    root = tmp_path / "golden"
    code, payload = check_json(capsys, path, *outputs, "--pin", "lapsrn", "--golden", root)
    assert code == 0
    case = golden.load_case(golden.read_manifest(root), payload["pinned"]["case_id"])
    assert case.spec.attrs.get("outputs", []) == outputs[1:]
    result = Harness("mat>mat2torch").replay(case.spec, case.inputs, case.expected,
                                             case.stored_artifacts(), case.native)
    assert [leg.verdict for leg in result.legs] == ["pass"]
    # The stored outputs are the chosen ones: level1_output (twice LR's size) or relu2's.
    assert [y.shape for y in case.expected] == [shape]
