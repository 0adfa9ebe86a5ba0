"""The training-mode pitfall on the real converters: ``onnx2torch.convert`` returns its module in
training mode, parity's stage records that before it calls ``.eval()``, and ``parity check``
names what running the module as returned costs, with the figures a user gets by hand."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
onnx2torch = pytest.importorskip("onnx2torch")

from harness.cli import main  # noqa: E402
from harness.converters import RETURNED_TRAINING, Artifact, ConvertOptions, get  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.check_cli import check, onnx_reference  # noqa: E402

BN_LEG = "onnx>onnx2torch"


class BatchNormNet(torch.nn.Module):
    """Conv, ReLU, batch norm (after the ReLU, so that the exporter cannot fold it into the
    convolution), conv, mean, a 10-class head: a classifier whose batch norm computes
    differently in training mode (the batch's statistics) and in eval mode."""

    def __init__(self, batch_norm: bool = True):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(8) if batch_norm else torch.nn.Identity()
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = self.norm(torch.relu(self.conv1(x)))
        return self.head(torch.relu(self.conv2(x)).mean(dim=(2, 3)))


def export(path, batch_norm: bool = True, opset_version: int = 17):
    """The network exported by torch.onnx (TorchScript exporter), its batch norm given
    running statistics far from a fresh layer's zeros and ones."""
    torch.manual_seed(0)
    net = BatchNormNet(batch_norm)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 1.0)
                module.running_var.uniform_(0.1, 0.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.randn(1, 3, 16, 16),), str(path), dynamo=False,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch", 2: "h", 3: "w"}},
                          opset_version=opset_version)
    return path


@pytest.fixture(scope="module")
def bn_onnx(tmp_path_factory):
    path = export(tmp_path_factory.mktemp("bn") / "bn.onnx")
    kinds = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "BatchNormalization" in kinds  # not folded into the convolution
    return path


def run(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


# -- the flag, as each stage records it ------------------------------------------------------

def _by_hand(stage: str, model):
    if stage == "onnx2torch":
        return onnx2torch.convert(model)
    from onnx2pytorch import ConvertModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ConvertModel(model, experimental=True)


@pytest.mark.parametrize("stage", ["onnx2torch", "onnx2pytorch"])
def test_a_torch_stage_records_the_training_flags_its_converter_returned(stage, tmp_path):
    path = export(tmp_path / "bn13.onnx", opset_version=13)  # onnx2pytorch reads opset 13's BN
    assert "BatchNormalization" in {node.op_type for node in onnx.load(str(path)).graph.node}
    artifact = get(stage).convert(Artifact("onnx", onnx.load(str(path)), ["image"]),
                                  ConvertOptions())
    returned = _by_hand(stage, onnx.load(str(path)))
    # Both converters return the module itself in nn.Module's default, training mode;
    # onnx2pytorch sets its inner batch norm to eval mode. The stage records which
    # submodules were in training mode and hands on the module in eval mode.
    assert returned.training
    assert artifact.meta[RETURNED_TRAINING] == tuple(
        name for name, sub in returned.named_modules() if sub.training)
    assert artifact.model.training is False
    assert not any(module.training for module in artifact.model.modules())


def test_parity_s_own_importer_returns_its_module_in_eval_mode(tmp_path):
    pytest.importorskip("scipy")
    from harness.sources.mat.case import MatCase, network_spec

    conv = {"k": [3, 3], "filters": 4, "stride": [1, 1], "dilation": [1, 1],
            "pad": [1, 1, 1, 1], "groups": 1, "bias": True}
    path = tmp_path / "net.mat"
    MatCase(network_spec([("conv", conv), ("relu", {"leak": 0.0})], input_shape=(1, 3, 6, 6),
                         fmt="simplenn", seed=3)).write(path)
    loaded = files.load(path)
    artifact = get("mat2torch").convert(Artifact("mat", loaded.model, loaded.input_names),
                                        ConvertOptions())
    assert artifact.meta[RETURNED_TRAINING] == ()


# -- the pitfall on the real onnx2torch ------------------------------------------------------

def count_runs(monkeypatch) -> list:
    """The calls of the pitfall's extra forward pass, recorded."""
    from harness.check import pitfalls

    ran, original = [], pitfalls.run_as_returned
    monkeypatch.setattr(pitfalls, "run_as_returned",
                        lambda *args: ran.append(args) or original(*args))
    return ran


def test_onnx2torch_left_in_training_mode_is_named_with_its_figures(capsys, bn_onnx,
                                                                    monkeypatch):
    ran = count_runs(monkeypatch)
    found = check(capsys, bn_onnx, "--paths", f"{BN_LEG},onnx>ort-optimized")
    assert len(ran) == 1  # one more forward pass, at the first size, for the torch leg
    row = found[BN_LEG]
    # parity's verdict is after .eval(): the conversion itself is right.
    assert row["verdict"] == "agrees" and row["max_abs"] < 1e-4
    assert found["onnx>ort-optimized"]["pitfalls"] == []  # not a torch module

    # By hand, with onnx2torch itself, on the inputs parity drew (its first size).
    spec = files.file_specs(bn_onnx)[0]
    x = files.case_inputs(spec)[0]
    assert x.shape == (4, 3, 64, 64)
    expected = onnx_reference(bn_onnx, x)
    returned = onnx2torch.convert(onnx.load(str(bn_onnx)))
    assert returned.training  # as onnx2torch returns it
    as_returned = run(returned, x)  # moves returned's running statistics: eval on a fresh one
    evaluated = run(onnx2torch.convert(onnx.load(str(bn_onnx))).eval(), x)
    assert np.abs(evaluated - expected).max() < 1e-4
    max_abs = float(np.abs(as_returned - expected).max())
    assert max_abs > 100 * 1e-4  # far beyond the tolerance of a file (atol 1e-4)
    # No two of the reference's leading classes lie within the tolerance, so top-1 is the
    # plain arg-max here.
    leading = np.sort(expected, axis=1)[:, -2:]
    assert (leading[:, 1] - leading[:, 0] > 1e-3).all()
    top1 = float((as_returned.argmax(axis=1) == expected.argmax(axis=1)).mean())
    assert top1 < 1.0  # and changes what it decides

    (pitfall,) = row["pitfalls"]
    assert pitfall.startswith("left in training mode: onnx2torch returns its module in "
                              "training mode; run as returned, without .eval(), it differs "
                              "from the reference by ")
    assert f"max_abs {max_abs:.3g} (top-1 {top1:.0%} of 4 rows)" in pitfall
    assert "batch norm normalises with the batch's own statistics" in pitfall
    assert "parity's verdict is after .eval()" in pitfall


def test_training_mode_that_changes_nothing_is_not_named_nor_run(capsys, tmp_path,
                                                                 monkeypatch):
    # onnx2torch returns this module in training mode too, but with no batch norm and no
    # dropout, training mode computes what eval mode does (by hand below).
    from harness.check import pitfalls

    path = export(tmp_path / "plain.onnx", batch_norm=False)
    artifact = get("onnx2torch").convert(Artifact("onnx", onnx.load(str(path)), ["image"]),
                                         ConvertOptions())
    assert "" in artifact.meta[RETURNED_TRAINING]  # the module itself
    x = files.case_inputs(files.file_specs(path)[0])[0]
    np.testing.assert_array_equal(run(onnx2torch.convert(onnx.load(str(path))), x),
                                  run(artifact.model, x))
    # None of its parts reads its training flag, so the check does not run it again.
    assert not any(pitfalls.reads_training_flag(sub) for sub in artifact.model.modules())
    ran = count_runs(monkeypatch)
    found = check(capsys, path, "--paths", BN_LEG)
    assert found[BN_LEG]["verdict"] == "agrees" and found[BN_LEG]["pitfalls"] == []
    assert ran == []


def test_the_parts_that_read_their_training_flag(bn_onnx):
    module = onnx2torch.convert(onnx.load(str(bn_onnx)))
    from harness.check.pitfalls import reads_training_flag

    reading = {type(sub).__name__ for sub in module.modules() if reads_training_flag(sub)}
    assert reading == {"BatchNorm2d"}  # not the fx graph, convolutions, ReLU or the head
    assert reads_training_flag(torch.nn.Dropout(0.1))
    assert reads_training_flag(torch.nn.LSTM(2, 2))


def test_the_training_flag_is_read_from_code_without_a_source_file():
    # Classes made where no source file exists (inspect.getsource raises): their own code
    # still says which reads the flag.
    from harness.check.pitfalls import reads_training_flag

    space = {"torch": torch}
    exec("class Reads(torch.nn.Module):\n"
         "    def forward(self, x):\n"
         "        return x * 2 if self.training else x\n"
         "class Ignores(torch.nn.Module):\n"
         "    def forward(self, x):\n"
         "        return (lambda y: y + 1)(x)\n"
         "class ReadsInside(torch.nn.Module):\n"
         "    def forward(self, x):\n"
         "        return (lambda y: y if self.training else -y)(x)\n", space)
    assert reads_training_flag(space["Reads"]())
    assert not reads_training_flag(space["Ignores"]())
    assert reads_training_flag(space["ReadsInside"]())


def test_onnx2pytorch_batch_norm_ignores_training_mode_so_it_is_not_named(capsys, tmp_path):
    # onnx2pytorch too returns its module in training mode, but its batch norm inside in eval
    # mode: run as returned, it computes what eval mode does (checked by hand below).
    path = export(tmp_path / "bn13.onnx", opset_version=13)
    x = files.case_inputs(files.file_specs(path)[0])[0]
    returned = _by_hand("onnx2pytorch", onnx.load(str(path)))
    assert returned.training
    assert np.abs(run(returned, x) - onnx_reference(path, x)).max() < 1e-4
    found = check(capsys, path, "--paths", "onnx>onnx2pytorch")
    assert found["onnx>onnx2pytorch"]["verdict"] == "agrees"
    assert found["onnx>onnx2pytorch"]["pitfalls"] == []


def test_the_run_in_training_mode_leaves_the_leg_module_alone(bn_onnx):
    from harness.check import CheckOptions, choose_paths, make_harness, make_policy
    from harness.check.verdicts import summarise
    from harness.runtimes.torch import TorchRunner

    spec = files.file_specs(bn_onnx)[0]
    paths, _ = choose_paths(BN_LEG, "onnx")
    harness = make_harness(paths, policy=make_policy(CheckOptions(model=str(bn_onnx))),
                           diagnose=False)
    case = harness.run(spec)
    first = summarise([(case, harness)], harness)[0].pitfalls
    artifact = harness.artifacts[BN_LEG]
    assert "" in artifact.meta[RETURNED_TRAINING] and not artifact.model.training
    # The module parity judged still computes what it computed: its batch norm statistics
    # did not move, and the pitfall's figures do not drift when computed again.
    again = TorchRunner().run(artifact, harness.inputs)
    np.testing.assert_array_equal(again[0], harness.outputs[BN_LEG][0])
    assert summarise([(case, harness)], harness)[0].pitfalls == first
    assert len(first) == 1


# -- docs/check.md's worked session ----------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "check.md"
SECTION = "### A module left in training mode"


def _fenced(text: str, lang: str) -> str:
    match = re.search(rf"^```{lang}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert match, f"{DOCS.name}: no {lang} block in {SECTION!r}"
    return match.group(1)


def _comparable(text: str, folder: Path) -> list[str]:
    """The lines, less what moves from run to run or machine to machine: the model's folder,
    seconds, rounding-level errors and the exporter's version."""
    text = text.replace(f"{folder}/", "")
    text = re.sub(r"\(\d+\.\d s\)", "(T s)", text)
    text = re.sub(r"\b\d\.\d+e-(0[5-9]|[1-9]\d)\b", "ROUNDING", text)
    text = re.sub(r"written by pytorch \S+", "written by pytorch V", text)
    return [line.rstrip() for line in text.strip().splitlines()]


def test_the_worked_session_in_the_docs_is_what_check_prints(capsys, tmp_path, monkeypatch):
    section = DOCS.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    example, shown = _fenced(section, "python"), _fenced(section, "text")
    command, *printed = shown.splitlines()
    monkeypatch.chdir(tmp_path)
    exec(compile(example, str(DOCS), "exec"), {})  # the example asserts the pitfall itself
    argv = shlex.split(command.removeprefix("$ "))
    assert argv[:2] == ["parity", "check"]
    main(argv[1:])
    assert _comparable(capsys.readouterr().out, tmp_path) == _comparable("\n".join(printed),
                                                                          tmp_path)
