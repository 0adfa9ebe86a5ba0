import json

import pytest

from harness.cli import main, plugins_in_command
from harness.core import axes, registry
from harness.core.spec import LayerSpec


def test_layers_json_lists_every_kind_with_its_attribute_domains(capsys):
    assert main(["layers", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["kind"] for entry in listed] == [k.name for k in registry.kinds()]
    conv = next(entry for entry in listed if entry["kind"] == "Conv2D")
    assert conv["attributes"]["padding"] == ["valid", "same"]
    assert "batch" in conv["inputs"] and "batch" not in conv["attributes"]


def test_layers_show_the_axes_each_kind_admits(capsys):
    assert main(["layers", "--json"]) == 0
    listed = {entry["kind"]: entry for entry in json.loads(capsys.readouterr().out)}
    for kind in registry.kinds():
        admitted = axes.admitted(kind)
        assert listed[kind.name]["axes"] == {"dtypes": list(admitted.dtypes),
                                             "free_dims": list(admitted.free_dims)}
    assert "float16" in listed["Conv2D"]["axes"]["dtypes"]
    assert "batch" in listed["Conv2D"]["axes"]["free_dims"]
    assert main(["layers"]) == 0
    text = capsys.readouterr().out
    conv = text[text.index("  Conv2D\n"):]
    assert conv.splitlines()[1].split(None, 1) == ["(axes)", axes.admitted(
        registry.get("Conv2D")).describe()]


def test_layers_text_groups_by_family(capsys):
    assert main(["layers"]) == 0
    out = capsys.readouterr().out
    assert "[conv]" in out and "Conv2D" in out
    layers = len(registry.names(without=registry.WHOLE_MODELS))
    applications = len(registry.names()) - layers
    assert layers >= 60 and applications >= 5
    assert f"{layers} layer and model kinds" in out and f"{applications} applications" in out


def test_repro_of_an_unknown_case_is_a_clear_error(tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    results.write_text('{"record": "run"}\n')
    code = main(["repro", "ffffffffffffffff", "--results", str(results),
                 "--golden", str(tmp_path / "none")])
    assert code == 2
    assert "case ffffffffffffffff is in none of" in capsys.readouterr().err


def test_repro_reruns_a_recorded_case(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    spec = LayerSpec("Dense", {"units": 2, "activation": "relu"}, ((2, 3),), seed=4)
    results = tmp_path / "results.jsonl"
    record = {"record": "result", "case_id": spec.case_id, "spec": spec.to_json(),
              "path": "keras>tf2onnx>onnx2torch"}
    results.write_text("not json " + spec.case_id + "\n" + json.dumps(record) + "\n")
    assert main(["repro", spec.case_id, "--results", str(results)]) == 0
    captured = capsys.readouterr()
    assert "skipping a malformed line" in captured.err
    assert f"case {spec.case_id}: Dense(" in captured.out
    assert "pass  keras>tf2onnx " in captured.out
    assert "pass  keras>tf2onnx>onnx2torch" in captured.out


def _record_file(tmp_path, spec):
    results = tmp_path / "results.jsonl"
    record = {"record": "result", "case_id": spec.case_id, "spec": spec.to_json(),
              "path": "keras>tf2onnx>onnx2torch"}
    results.write_text(json.dumps(record) + "\n")
    return results


def test_repro_writes_a_standalone_script(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    pytest.importorskip("onnx2torch")
    spec = LayerSpec("Dense", {"units": 2, "activation": "gelu"}, ((1, 2),), seed=3)
    script = tmp_path / "out.py"
    code = main(["repro", spec.case_id, "--results", str(_record_file(tmp_path, spec)),
                 "--script", str(script)])
    out = capsys.readouterr().out
    assert code == 0  # a known issue: xfail, which does not fail the command
    assert "xfail keras>tf2onnx " in out and "unsupported_op" in out
    assert (f"wrote {script}: a standalone reproducer of leg keras>tf2onnx (stage tf2onnx)"
            in out)
    text = script.read_text()
    assert f"Reproducer for parity case {spec.case_id}: stage tf2onnx" in text
    assert "tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)" in text
    assert "OPSET = 17" in text
    compile(text, str(script), "exec")


def test_repro_script_too_big_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    pytest.importorskip("onnx2torch")
    spec = LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=3)
    script = tmp_path / "out.py"
    code = main(["repro", spec.case_id, "--results", str(_record_file(tmp_path, spec)),
                 "--golden", str(tmp_path / "no-golden"), "--script", str(script),
                 "--max-inline-mb", "0.0001"])
    err = capsys.readouterr().err
    assert code == 2
    assert "parity: no script written: case " + spec.case_id + " is too big to inline" in err
    assert "the case is not in the golden store" in err and "--max-inline-mb" in err
    assert not script.exists()


@pytest.mark.parametrize("command, plugins", [
    ("pytest suites/ --parity-plugins tests.layer_faults --parity-paths 'keras>a>b'",
     ["tests.layer_faults"]),
    ("pytest --parity-plugins=one,two -q", ["one", "two"]),
    ("pytest --parity-plugins first --parity-plugins 'second, third'", ["second", "third"]),
    ("pytest suites/ -n 2", []),
    ("pytest --parity-plugins", []),  # cut off: names nothing
    ("pytest 'unbalanced", []),
    (None, []),
])
def test_plugins_are_read_from_a_recorded_command(command, plugins):
    assert plugins_in_command(command) == plugins


def _plugin_run(tmp_path, command, path="keras>tf2onnx>no-such-plugin-stage"):
    spec = LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=3)
    results = tmp_path / "results.jsonl"
    run = {"record": "run", "run_id": "r1", "command": command}
    result = {"record": "result", "run_id": "r1", "case_id": spec.case_id,
              "spec": spec.to_json(), "path": path}
    results.write_text(json.dumps(run) + "\n" + json.dumps(result) + "\n")
    return spec, results


def test_repro_imports_the_plugins_of_the_recorded_command_and_says_when_it_cannot(tmp_path,
                                                                                    capsys):
    spec, results = _plugin_run(tmp_path, "pytest --parity-plugins no_such_parity_plugin")
    assert main(["repro", spec.case_id, "--results", str(results)]) == 2
    captured = capsys.readouterr()
    assert "plugins: no_such_parity_plugin (from the --parity-plugins of the run's recorded " \
           "command)" in captured.out
    assert "parity: cannot import plugin module 'no_such_parity_plugin'" in captured.err
    # --plugins names others instead
    assert main(["repro", spec.case_id, "--results", str(results), "--plugins",
                 "also_missing_plugin"]) == 2
    captured = capsys.readouterr()
    assert "plugins: also_missing_plugin (from --plugins)" in captured.out
    assert "no_such_parity_plugin" not in captured.out + captured.err


def test_repro_of_a_plugin_path_without_its_plugin_names_the_option(tmp_path, capsys):
    spec, results = _plugin_run(tmp_path, "pytest suites/")
    assert main(["repro", spec.case_id, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert "unknown converter 'no-such-plugin-stage'" in err
    assert "--plugins MODULE[,MODULE]" in err


@pytest.mark.parametrize("words", [
    ["check", "model.onnx", "--out", "reports"],  # --output is a .mat option
    ["repro", "ffffffffffffffff", "--res", "results.jsonl"],
    ["golden", "list", "--ro", "golden"],
], ids=["check", "repro", "golden"])
def test_an_option_is_taken_by_its_whole_name_only(words, capsys):
    """A prefix of an option is no option (pytest's rule too): argparse's default read
    ``--out`` as ``--output`` and answered about .mat outputs."""
    with pytest.raises(SystemExit) as exit_:
        main(words)
    assert exit_.value.code == 2
    assert f"unrecognized arguments: {words[2]}" in capsys.readouterr().err
