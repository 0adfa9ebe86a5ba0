"""``parity check MODEL`` on ONNX files written by ``torch.onnx.export``, and on files that are
damaged, unsupported or not models at all: the verdict of every leg, where a faulty stage
diverges, the pitfalls it names, the reports, --json, --pin and the golden replay."""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx2torch")

from harness import golden  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.check_cli import PLUGIN, check_json  # noqa: E402


class SmallNet(torch.nn.Module):
    """Conv, ReLU, batch norm (not foldable into the conv), conv, mean, a 10-class head; with
    ``det``, a determinant term (ONNX Det, which onnx2torch has no converter for)."""

    def __init__(self, det: bool = False):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(6)
        self.conv2 = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.head = torch.nn.Linear(6, 10)
        self.det = det

    def forward(self, x):
        x = self.bn(torch.relu(self.conv1(x)))
        if self.det:
            x = x + 0.1 * torch.det(x[:, :, :2, :2])[..., None, None]
        x = torch.relu(self.conv2(x))
        return self.head(x.mean(dim=(2, 3)))


def export(module, path, shape=(1, 3, 8, 8), dynamic=True, opset_version=17, **kwargs):
    torch.manual_seed(0)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.BatchNorm2d):
                sub.running_mean.normal_(0, 0.5)
                sub.running_var.uniform_(0.5, 2.0)
    axes = {"image": {0: "batch", 2: "h", 3: "w"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.randn(*shape),), str(path), dynamo=False,
                          input_names=["image"], output_names=["logits"], dynamic_axes=axes,
                          opset_version=opset_version, **kwargs)
    return path


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    torch.manual_seed(0)
    return export(SmallNet(), tmp_path_factory.mktemp("onnx") / "small.onnx")


def legs(payload) -> dict[str, dict]:
    return {leg["leg"]: leg for leg in payload["legs"]}


# -- recognising files -----------------------------------------------------------------------

def test_formats_are_recognised_from_content_not_suffix(tmp_path, small_onnx):
    disguised = tmp_path / "model.bin"
    disguised.write_bytes(small_onnx.read_bytes())
    assert files.detect(disguised) == "onnx"

    from harness.sources.mat.writer import save_mat

    mat = tmp_path / "net.weights"
    save_mat(mat, {"format": "parity.dlt/1", "layers": np.zeros((1, 0), dtype=object)})
    assert files.detect(mat) == "mat"

    arch = tmp_path / "arch.txt"
    arch.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
    assert files.detect(arch, weights=tmp_path / "w.h5") == "keras-json"
    with pytest.raises(files.FileError, match="without weights; give the weights file"):
        files.detect(arch)

    import h5py

    weights = tmp_path / "weights.h5"
    with h5py.File(weights, "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
    with pytest.raises(files.FileError, match="holds weights only"):
        files.detect(weights)

    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"")
    assert files.detect(saved) == "savedmodel"


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"\x00\x01garbage" * 64, "not a model file parity recognises"),
    (pickle.dumps({"weights": [1, 2]}), "a Python pickle; parity never unpickles"),
])
def test_files_that_are_not_models_get_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "thing.dat"
    path.write_bytes(content)
    assert main(["check", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err
    assert "Traceback" not in err


def test_a_torch_checkpoint_is_refused_without_unpickling(tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert zipfile.is_zipfile(path)
    assert main(["check", str(path), "-q"]) == 2
    assert "PyTorch checkpoint" in capsys.readouterr().err


def test_a_truncated_onnx_file_gets_one_line(tmp_path, capsys, small_onnx):
    path = tmp_path / "cut.onnx"
    path.write_bytes(small_onnx.read_bytes()[:2000])
    assert main(["check", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"parity check: {path}: not a readable .onnx file")
    assert err.count("\n") == 1


def test_external_data_outside_the_models_folder_is_refused(tmp_path, capsys, small_onnx):
    model = onnx.load(str(small_onnx))
    folder = tmp_path / "model"
    folder.mkdir()
    onnx.save_model(model, str(folder / "m.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.data", size_threshold=0)
    assert files.load(folder / "m.onnx").kind == "onnx"  # beside the model: read
    proto = onnx.load(str(folder / "m.onnx"), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../secret.data"
    (tmp_path / "secret.data").write_bytes((folder / "m.data").read_bytes())
    evil = folder / "evil.onnx"
    evil.write_bytes(proto.SerializeToString())
    assert main(["check", str(evil), "-q"]) == 2
    err = capsys.readouterr().err
    assert "outside the model's folder" in err and err.count("\n") == 1


def test_onnxruntime_refusing_the_model_is_named(tmp_path, capsys, small_onnx):
    model = onnx.load(str(small_onnx))
    model.graph.node[0].op_type = "NoSuchOp"
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    assert main(["check", str(path), "-q", "--report", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"parity check: {path}: onnxruntime refuses the model")
    assert err.count("\n") == 1


# -- task-level agreement and sizes ----------------------------------------------------------

def test_top_k_agreement_and_psnr():
    from harness.check.task import TaskTally, is_classifier, psnr, top_k_agreement

    expected = np.array([[0.1, 0.5, 0.2, 0.9, 0.0, 0.3, 0.4, 0.6, 0.7, 0.8, 0.05]] * 2)
    swapped = expected.copy()
    swapped[1, [3, 9]] = swapped[1, [9, 3]]  # row 1's first and second classes trade places
    assert top_k_agreement(swapped, expected, 1) == (1, 2)
    assert top_k_agreement(swapped, expected, 5) == (2, 2)
    assert is_classifier(expected) and not is_classifier(expected[:, :3])
    assert is_classifier(np.array([[0.2, 0.8], [0.5, 0.5]]))  # probabilities, 2 classes
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    assert psnr(image, image) == float("inf")
    assert abs(psnr(image + 0.01, image) - 40.0) < 1e-3  # peak 1, MSE 1e-4
    tally = TaskTally()
    tally.add([image + 0.01], [image], [np.zeros((1, 1, 8, 8), np.float32)])
    assert tally.to_json() == {"psnr_db": psnr(image + 0.01, image)}


def test_free_dimensions_run_at_two_sizes():
    assert files.concrete_sizes([(None, 3, None, None)]) == [[(4, 3, 64, 64)], [(1, 3, 96, 96)]]
    assert files.concrete_sizes([(None, 10, 7)]) == [[(4, 10, 7)], [(1, 10, 7)]]
    assert files.concrete_sizes([(2, 5)]) == [[(2, 5)]]
    # Sizes alike at the first run are alike at the second, whatever the ranks: a (b, s, d)
    # sequence and its (b, s) mask.
    assert files.concrete_sizes([(None, None, 32), (None, None)]) == [
        [(4, 8, 32), (4, 8)], [(1, 13, 32), (1, 13)]]
    # A name the file gives a free dimension ties it across inputs, the first input's rule
    # deciding; unnamed and differently named dimensions stay apart.
    shapes = [(None, 4, None, None), (None, None), (None, None)]
    assert files.concrete_sizes(shapes, [("b", None, "s", "s"), ("b", "s"), ("b", "t")]) == [
        [(4, 4, 64, 64), (4, 64), (4, 8)], [(1, 4, 96, 96), (1, 96), (1, 13)]]
    assert files.concrete_sizes(shapes) == [[(4, 4, 64, 64), (4, 8), (4, 8)],
                                            [(1, 4, 96, 96), (1, 13), (1, 13)]]
    # A name that is arithmetic over names takes the size it computes, whichever input
    # names its symbols; arithmetic over unknown names is a name like any other.
    assert files.concrete_sizes([(None, None), (None, None), (None, None)],
                                [("b", "p + 1"), ("b", "p"), ("b", "q * 2")]) == [
        [(4, 9), (4, 8), (4, 8)], [(1, 14), (1, 13), (1, 13)]]


# -- verdicts --------------------------------------------------------------------------------

def test_an_onnx_file_gets_the_right_verdict_on_every_default_leg(capsys, small_onnx,
                                                                   tmp_path):
    code, payload = check_json(capsys, small_onnx, "--report", tmp_path / "reports")
    assert payload["format"] == "onnx" and payload["reads_to"] == "onnx"
    # The batch and both spatial dimensions are free: two sizes, the second on the same
    # converted artifacts.
    assert payload["sizes"] == [[[4, 3, 64, 64]], [[1, 3, 96, 96]]]
    found = legs(payload)
    assert {leg: row["verdict"] for leg, row in found.items()} == {
        "onnx>onnx2torch": "agrees", "onnx>ort-optimized": "agrees",
        # the ONNX simplifiers and optimizers (docs/rewriters.md), at both sizes
        "onnx>onnxsim": "agrees", "onnx>onnxslim": "agrees", "onnx>onnxoptimizer": "agrees",
        # torch.onnx writes BatchNormalization's training_mode (opset 14+), which
        # onnx2pytorch 0.6 cannot read.
        "onnx>onnx2pytorch": "unsupported"}
    assert code == 1 and not payload["agrees"]
    assert "training_mode not implemented" in found["onnx>onnx2pytorch"]["where"]
    assert found["onnx>onnx2pytorch"]["known_issue"]["id"] == (
        "onnx2pytorch-batchnorm-training-mode")
    for leg in ("onnx>onnx2torch", "onnx>ort-optimized"):
        assert found[leg]["results"] == ["pass", "pass"]
        assert found[leg]["task"]["top1"] == 1.0 and found[leg]["task"]["top1_rows"] == 5
        assert found[leg]["max_abs"] < 1e-4
    records = [json.loads(line) for line in
               (tmp_path / "reports" / "results.jsonl").read_text().splitlines()]
    results = [r for r in records if r["record"] == "result"]
    assert {r["source"] for r in results} == {"file"}
    assert len({r["case_id"] for r in results}) == 2
    assert (tmp_path / "reports" / "parity.html").is_file()
    assert (tmp_path / "reports" / "junit.xml").is_file()


def test_a_faulty_stage_fails_and_names_the_diverging_node(capsys, small_onnx, check_plugin,
                                                           tmp_path):
    script = tmp_path / "repro.py"
    code, payload = check_json(capsys, small_onnx, "--paths",
                               "onnx>onnx2torch,onnx>onnx2torch-check-fault",
                               "--report", "none", "--script", script, "--plugins", PLUGIN)
    assert code == 1 and not payload["agrees"]
    good, bad = legs(payload)["onnx>onnx2torch"], legs(payload)["onnx>onnx2torch-check-fault"]
    assert good["verdict"] == "agrees"
    assert bad["verdict"] == "differs" and bad["category"] == "numeric_mismatch"
    assert bad["where"] == "/conv2/Conv (Conv), stage onnx2torch-check-fault"
    assert "first diverges at node" in bad["note"]
    assert payload["script"] == str(script) and script.is_file()


def test_the_terminal_table_names_leg_verdict_error_and_layer(capsys, small_onnx, check_plugin):
    code = main(["check", str(small_onnx), "--paths", "onnx>onnx2torch-check-fault", "--report",
                 "none", "-q"])
    out = capsys.readouterr().out
    assert code == 1
    header = next(line for line in out.splitlines() if line.startswith("LEG"))
    assert header.split() == ["LEG", "VERDICT", "MAX", "ABS", "ERROR", "TASK", "WHERE", "IT",
                              "DIVERGED"]
    row = next(line for line in out.splitlines() if line.startswith("onnx>onnx2torch-check-fault"))
    assert "differs" in row and "/conv2/Conv (Conv)" in row and "top-1" in row
    assert out.rstrip().splitlines()[-1].startswith("parity check: 1 of 1 legs do not agree")


def test_a_module_left_in_training_mode_is_named(capsys, small_onnx, check_plugin):
    code, payload = check_json(capsys, small_onnx, "--paths", "onnx>onnx2torch-check-no-eval",
                               "--report", "none")
    leg = legs(payload)["onnx>onnx2torch-check-no-eval"]
    # parity runs the module after .eval(): the numbers agree, and the pitfall is named.
    assert code == 0 and leg["verdict"] == "agrees"
    assert len(leg["pitfalls"]) == 1 and leg["pitfalls"][0].startswith("left in training mode")
    # parity's own stage calls .eval() after recording what onnx2torch returned: named too
    # (its figures: tests/test_check_training_mode.py).
    code, payload = check_json(capsys, small_onnx, "--paths", "onnx>onnx2torch", "--report", "none")
    assert legs(payload)["onnx>onnx2torch"]["pitfalls"][0].startswith("left in training mode")


def test_a_baked_in_batch_size_is_named(capsys, small_onnx, check_plugin):
    code, payload = check_json(capsys, small_onnx, "--paths", "onnx>onnx-check-fixed-batch",
                               "--report", "none")
    leg = legs(payload)["onnx>onnx-check-fixed-batch"]
    assert code == 1 and leg["results"] == ["pass", "error"]
    assert leg["pitfalls"] == [
        "a free dimension baked in: agrees at 4x3x64x64 but not at 1x3x96x96 (runtime_error); "
        "the ONNX from onnx-check-fixed-batch declares input 'image' axis 0 fixed to 4"]


def test_an_op_without_a_counterpart_is_unsupported_not_a_crash(capsys, tmp_path):
    path = export(SmallNet(det=True), tmp_path / "det.onnx")
    code, payload = check_json(capsys, path, "--paths", "onnx>onnx2torch,onnx>ort-optimized",
                               "--report", "none")
    assert code == 1
    leg = legs(payload)["onnx>onnx2torch"]
    assert leg["verdict"] == "unsupported" and leg["where"] == "op Det (onnx2torch)"
    assert leg["known_issue"] is not None  # onnx2torch's missing Det is a pinned upstream gap
    assert leg["pitfalls"][0].startswith("no counterpart in stage onnx2torch: op Det")
    assert legs(payload)["onnx>ort-optimized"]["verdict"] == "agrees"


def test_a_fixed_size_model_runs_at_one_size(capsys, tmp_path):
    path = export(SmallNet(), tmp_path / "fixed.onnx", shape=(2, 3, 8, 8), dynamic=False)
    code, payload = check_json(capsys, path, "--paths", "onnx>ort-optimized", "--report", "none")
    assert code == 0 and payload["sizes"] == [[[2, 3, 8, 8]]]


# -- the user's inputs -----------------------------------------------------------------------

def test_the_users_npz_is_the_input(capsys, small_onnx, tmp_path):
    data = tmp_path / "data.npz"
    x = np.random.default_rng(1).standard_normal((3, 3, 20, 12)).astype(np.float32)
    np.savez(data, image=x)
    code, payload = check_json(capsys, small_onnx, "--inputs", data, "--paths",
                               "onnx>ort-optimized", "--report", "none")
    assert code == 0 and payload["sizes"] == [[[3, 3, 20, 12]]]
    spec = files.file_specs(small_onnx, inputs={"kind": "npz", "path": str(data),
                                                "shapes": [[3, 3, 20, 12]]})[0]
    assert spec.attrs["inputs"]["path"] == str(data)

    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, image=x[:, :2])
    assert main(["check", str(small_onnx), "--inputs", str(wrong), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{wrong}: input 'image' has shape 3x2x20x12; the model takes ?x3x?x?" in err


def test_a_folder_of_images_with_stated_preprocessing(capsys, small_onnx, tmp_path):
    from PIL import Image

    from harness.check import data as check_data

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        pixels = rng.integers(0, 256, (10 + i, 14, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    code, payload = check_json(capsys, small_onnx, "--inputs", folder, "--mean", "0.5",
                               "--std", "0.25", "--paths", "onnx>ort-optimized", "--report", "none")
    assert code == 0 and payload["sizes"] == [[[3, 3, 10, 14]]]  # NCHW, resized to the first
    loaded = files.load(small_onnx)
    description = check_data.describe(folder, loaded, mean="0.5", std="0.25")
    batch = check_data.load_inputs(description)[0]
    first = np.asarray(Image.open(folder / "00.png"), dtype=np.float32)
    np.testing.assert_allclose(batch[0], ((first / 255 - 0.5) / 0.25).transpose(2, 0, 1),
                               atol=1e-6)


# -- pinning ---------------------------------------------------------------------------------

def test_pin_stores_a_case_the_golden_replay_runs(capsys, small_onnx, tmp_path):
    root = tmp_path / "golden"
    code, payload = check_json(capsys, small_onnx, "--paths", "onnx>onnx2torch", "--report", "none",
                               "--pin", "my-classifier", "--golden", root)
    assert code == 0
    pinned = payload["pinned"]
    store = golden.read_manifest(root)
    assert list(store.cases) == [pinned["case_id"]]
    assert {"model.onnx", "source/small.onnx", "spec.json", "inputs.npz",
            "expected.npz"} <= set(store.cases[pinned["case_id"]])
    _, problems = golden.verify(root)
    assert problems == []

    # Replayed as suites/golden does: from the store alone, the user's file gone.
    moved = tmp_path / "gone.onnx"
    small_onnx.rename(moved)
    try:
        case = golden.load_case(store, pinned["case_id"])
        assert case.has_onnx and case.provenance["pin"] == "my-classifier"
        from harness.run.pipeline import Harness

        result = Harness("onnx>onnx2torch,onnx>ort-optimized").replay(
            case.spec, case.inputs, case.expected, case.stored_artifacts(), case.native)
        assert [leg.verdict for leg in result.legs] == ["pass", "pass"]
    finally:
        moved.rename(small_onnx)


def test_pin_is_refused_above_its_size_limit(capsys, small_onnx, tmp_path):
    code = main(["check", str(small_onnx), "--pin", "big", "--golden", str(tmp_path / "g"),
                 "--pin-limit-mb", "0.001", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "above the 0.001 MB a golden case may hold" in err
    assert not (tmp_path / "g").exists()


def test_bad_options_get_one_line(capsys, small_onnx):
    assert main(["check", str(small_onnx), "--paths", "keras>tf2onnx", "-q"]) == 2
    assert "starts at 'keras', but this model reads to 'onnx'" in capsys.readouterr().err
    assert main(["check", str(small_onnx), "--paths", "onnx>nope", "-q"]) == 2
    assert "unknown converter 'nope'" in capsys.readouterr().err
    assert main(["check", str(small_onnx), "--plugins", "no_such_module_here", "-q"]) == 2
    assert "cannot import plugin module 'no_such_module_here'" in capsys.readouterr().err
    assert main(["check", str(small_onnx), "--weights", str(small_onnx), "-q"]) == 2
    assert "--weights goes with a Keras-2 architecture" in capsys.readouterr().err


def test_a_torchvision_model_agrees_on_every_default_leg(capsys, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.squeezenet1_1(weights=None)
    with torch.no_grad():  # weights=None leaves equal zero biases the exporter would merge
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.bias.normal_(0, 0.1)
    path = export(model, tmp_path / "squeezenet.onnx", shape=(1, 3, 64, 64))
    # onnx2tf refuses its free spatial dimensions (a TypeError in its shape arithmetic; the
    # sweep's unpinned list in docs/rewriters.md): the other default legs
    paths = ",".join(f"onnx>{stage}" for stage in (
        "onnx2torch", "onnx2pytorch", "ort-optimized", "onnxsim", "onnxslim", "onnxoptimizer"))
    code, payload = check_json(capsys, path, "--report", "none", "--paths", paths)
    assert code == 0
    assert {leg["leg"]: leg["verdict"] for leg in payload["legs"]} == {
        "onnx>onnx2torch": "agrees", "onnx>onnx2pytorch": "agrees",
        "onnx>ort-optimized": "agrees", "onnx>onnxsim": "agrees", "onnx>onnxslim": "agrees",
        "onnx>onnxoptimizer": "agrees"}
    for leg in payload["legs"]:
        assert leg["task"]["top1"] == 1.0 and leg["task"]["top5"] == 1.0


@pytest.mark.slow
def test_suites_golden_replays_a_pinned_file(capsys, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    # Opset 13: no BatchNormalization training_mode, so every default ONNX leg converts it.
    path = export(SmallNet(), tmp_path / "pinned.onnx", opset_version=13)
    root = tmp_path / "golden"
    code, payload = check_json(capsys, path, "--pin", "pinned", "--golden", root)
    assert code == 0
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/golden/test_golden.py", "-q",
         "-p", "no:cacheprovider", "-k", "test_golden_case", "--parity-report", "none",
         "--parity-plugins", PLUGIN],
        cwd=repo, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PARITY_GOLDEN": str(root)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout
