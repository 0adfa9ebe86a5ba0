"""Every exit code ``parity check`` documents (docs/check.md, "Exit status"), and the codes
every ``parity`` command shares: only 1 is a verdict (a leg that does not agree, a failure
that reproduces), so no exception leaves a command with Python's own code for one, which is
1. A user's mistake is one line and 2, a framework missing here one line and 3, parity's own
bug one line and 4 with the traceback in a file the line names, Ctrl-C 130.

The failures come from tests/exit_faults.py, a ``--plugins`` module whose file formats fail
on purpose (a KeyError, a missing module, KeyboardInterrupt) and whose stage negates a
model's outputs."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.check.cli import EXIT_CODES
from harness.cli import main
from harness.core import exits
from harness.core.spec import LayerSpec

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.exit_faults"
SAVED = re.compile(r"all saved in (\S+\.txt) ")


@pytest.fixture(autouse=True, scope="module")
def plugin_formats_stay_in_this_module():
    """The plugin's file formats, their kinds and its stage leave with this module, so that a
    later test in the same worker sees parity's own formats only."""
    from harness import converters
    from harness.core import registry
    from harness.sources.file import detector

    saved = (list(detector.DETECTED), dict(detector.BY_FORMAT), dict(detector.START),
             dict(registry._KINDS), set(converters.available()))
    yield
    detector.DETECTED[:] = saved[0]
    for table, kept in ((detector.BY_FORMAT, saved[1]), (detector.START, saved[2]),
                        (registry._KINDS, saved[3])):
        table.clear()
        table.update(kept)
    for name in set(converters.available()) - saved[4]:
        converters.unregister(name)
    sys.modules.pop(PLUGIN, None)  # imported again, it adds its formats again


@pytest.fixture
def relu_onnx(tmp_path) -> Path:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads
    path = tmp_path / "relu.onnx"
    onnx.save(model, path)
    return path


@pytest.fixture
def unrunnable_onnx(tmp_path) -> Path:
    """A model onnx reads and onnxruntime, the source's reference reading, refuses."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example.nope")], "nope",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example.nope", 1)])
    model.ir_version = 8
    path = tmp_path / "nope.onnx"
    onnx.save(model, path)
    return path


def failing_file(tmp_path: Path, suffix: str) -> Path:
    path = tmp_path / f"model{suffix}"
    path.write_text("read by tests/exit_faults.py's format, which fails on purpose\n")
    return path


def check(*args) -> int:
    return main(["check", *map(str, args), "--report", "none", "-q", "--plugins", PLUGIN])


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_the_documented_codes_are_the_ones_the_command_has():
    assert set(EXIT_CODES) == {0, 1, 2, exits.CANNOT_RUN_HERE, exits.INTERNAL_ERROR,
                               exits.INTERRUPTED} == {0, 1, 2, 3, 4, 130}
    page = (ROOT / "docs" / "check.md").read_text()
    table = page[page.index("## Exit status"):]
    for code in EXIT_CODES:
        assert f"\n| {code} | " in table, code


def test_0_every_leg_agrees(relu_onnx, capsys):
    assert check(relu_onnx, "--paths", "onnx>ort-optimized") == 0
    assert "parity check: every leg agrees" in capsys.readouterr().out


def test_1_a_leg_does_not_agree(relu_onnx, capsys):
    assert check(relu_onnx, "--paths", "onnx>ort-optimized,onnx>onnx-exit-negated") == 1
    assert "parity check: 1 of 2 legs do not agree" in capsys.readouterr().out


@pytest.mark.parametrize("args, said", [
    (["no-such-model.onnx"], "parity check: no-such-model.onnx: no such file or folder"),
    (["{model}", "--paths", "keras>tf2onnx"],
     "parity check: --paths: keras>tf2onnx starts at 'keras'"),
    (["{unrunnable}", "--paths", "onnx>ort-optimized"],
     "parity check: {unrunnable}: onnxruntime refuses the model: "),
], ids=["missing-file", "path-of-another-format", "source-cannot-run-it"])
def test_2_the_model_cannot_be_checked_as_asked(args, said, relu_onnx, unrunnable_onnx,
                                                capsys):
    """Never 1: a model its own source cannot run says nothing of a converter."""
    named = {"model": relu_onnx, "unrunnable": unrunnable_onnx}
    assert check(*[str(a).format(**named) for a in args]) == 2
    assert one_line(capsys.readouterr().err).startswith(said.format(**named))


def test_3_a_framework_this_machine_lacks(tmp_path, capsys):
    assert check(failing_file(tmp_path, ".noframework")) == exits.CANNOT_RUN_HERE == 3
    assert one_line(capsys.readouterr().err) == (
        "parity check: cannot run here: parity_no_such_framework does not import "
        "(ModuleNotFoundError: No module named 'parity_no_such_framework'); install it (pip "
        "install -e \".[all]\" installs every framework parity drives)")


def test_4_an_internal_error_is_one_line_naming_a_file_that_holds_the_traceback(tmp_path,
                                                                                  capsys):
    model = failing_file(tmp_path, ".crash")
    assert check(model) == exits.INTERNAL_ERROR == 4
    line = one_line(capsys.readouterr().err)
    assert line.startswith("parity check: internal error (KeyError: 'a deliberate fault of "
                           "tests/exit_faults.py'): a bug in parity")
    saved = Path(SAVED.search(line)[1])
    report = saved.read_text()
    saved.unlink()
    assert report.splitlines()[1].startswith("command:     parity check ")
    assert str(model) in report.splitlines()[1]
    assert "parity:      0." in report and "onnxruntime " in report
    assert "Traceback (most recent call last):" in report
    assert report.rstrip().endswith("KeyError: 'a deliberate fault of tests/exit_faults.py'")


def test_parity_debug_raises_the_internal_error_instead(tmp_path, monkeypatch):
    monkeypatch.setenv(exits.DEBUG_VARIABLE, "1")
    with pytest.raises(KeyError, match="a deliberate fault"):
        check(failing_file(tmp_path, ".crash"))


def test_130_interrupted(tmp_path, capsys):
    assert check(failing_file(tmp_path, ".interrupt")) == exits.INTERRUPTED == 130
    assert one_line(capsys.readouterr().err) == "parity check: interrupted"


def test_a_process_exits_with_the_code_and_no_traceback(tmp_path):
    """The same in a fresh process, as a user's shell sees it."""
    done = subprocess.run([sys.executable, "-m", "harness.cli", "check",
                           str(failing_file(tmp_path, ".crash")), "--plugins", PLUGIN,
                           "--report", "none", "-q"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 4, done.stderr[-3000:]
    Path(SAVED.search(one_line(done.stderr))[1]).unlink()


# -- the other commands ----------------------------------------------------------------------

def test_any_command_s_unexpected_exception_is_an_internal_error(monkeypatch, capsys):
    def broken(args):
        return {}["parity's own bug"]

    monkeypatch.setattr(cli, "cmd_layers", broken)
    assert main(["layers"]) == 4
    line = one_line(capsys.readouterr().err)
    assert line.startswith("parity layers: internal error (KeyError: \"parity's own bug\")")
    Path(SAVED.search(line)[1]).unlink()


def test_any_command_s_missing_framework_cannot_run_here(monkeypatch, capsys):
    def needs_a_framework(args):
        __import__("parity_no_such_framework")

    monkeypatch.setattr(cli, "cmd_golden_list", needs_a_framework)
    assert main(["golden", "list"]) == 3
    assert one_line(capsys.readouterr().err).startswith(
        "parity golden list: cannot run here: parity_no_such_framework does not import")


def test_a_repro_whose_script_cannot_be_written_is_a_users_mistake(tmp_path, capsys):
    """A script asked for in a folder that is not there: one line and 2, not a traceback
    and 1 (which would read as the failure reproducing)."""
    spec = LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx", seed=1)
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({"record": "result", "case_id": spec.case_id,
                                   "spec": spec.to_json(), "path": "onnx>ort-optimized"}) + "\n")
    script = tmp_path / "no-such-folder" / "out.py"
    assert main(["repro", spec.case_id, "--results", str(results), "--script",
                 str(script)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"parity repro: No such file or directory: {script}")


def test_an_export_into_a_file_is_a_users_mistake(tmp_path, capsys):
    taken = tmp_path / "a-file"
    taken.write_text("")
    assert main(["issues", "export", "onnxruntime-col2im-not-2d", "-o", str(taken)]) == 2
    assert one_line(capsys.readouterr().err).startswith("parity issues export: ")


# -- --json: one document on stdout, whatever the outcome --------------------------------------

@pytest.mark.parametrize("model, extra, code", [
    ("{relu}", ["--paths", "onnx>ort-optimized"], 0),
    ("{relu}", ["--paths", "onnx>ort-optimized,onnx>onnx-exit-negated"], 1),
    ("no-such-model.onnx", [], 2),
    ("{relu}", ["--atol", "not-a-number"], 2),
    ("{noframework}", [], 3),
    ("{crash}", [], 4),
    ("{interrupt}", [], 130),
], ids=["agrees", "differs", "missing-file", "bad-option", "framework-missing",
        "internal-error", "interrupted"])
def test_json_is_one_document_with_the_exit_code_inside(model, extra, code, relu_onnx,
                                                        tmp_path, capsys):
    named = {"relu": relu_onnx, "noframework": failing_file(tmp_path, ".noframework"),
             "crash": failing_file(tmp_path, ".crash"),
             "interrupt": failing_file(tmp_path, ".interrupt")}
    try:
        got = check(model.format(**named), *extra, "--json")
    except SystemExit as exc:  # argparse's own exit, as for any command
        got = exc.code
    said = capsys.readouterr()
    document = json.loads(said.out)  # exactly one document: json.loads refuses more
    assert got == code == document["exit_code"]
    assert document["schema"] == "parity.check/1"
    assert document["agrees"] is (code == 0)
    if code in (0, 1):
        assert [leg["verdict"] for leg in document["legs"]][:1] == ["agrees"]
        assert "error" not in document
        return
    assert document["legs"] == []
    assert document["error"]["meaning"] == EXIT_CODES[code]
    assert document["error"]["message"] in said.err  # the terminal's line, word for word
    if code == exits.INTERNAL_ERROR:
        Path(SAVED.search(document["error"]["message"])[1]).unlink()
